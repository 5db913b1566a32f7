//! `read_parquet('...')` and `read_csv('...')`: files as tables, as DuckDB users expect, on
//! DataFusion's listing tables (a file, a directory or a glob).

use std::sync::Arc;

use datafusion::catalog::{Session, TableFunctionArgs, TableFunctionImpl, TableProvider};
use datafusion::datasource::file_format::csv::CsvFormat;
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::{
    ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl,
};
use datafusion::error::Result;
use datafusion::logical_expr::Expr;
use datafusion::prelude::SessionContext;

/// Registers `read_parquet(path)` and `read_csv(path)`: a file, a directory or a glob, read by
/// DataFusion's listing tables (the schema is inferred; CSV files have a header row).
pub fn register_file_functions(ctx: &SessionContext) {
    ctx.register_udtf("read_parquet", Arc::new(ReadFiles(FileKind::Parquet)));
    ctx.register_udtf("read_csv", Arc::new(ReadFiles(FileKind::Csv)));
}

#[derive(Debug, Clone, Copy)]
enum FileKind {
    Parquet,
    Csv,
}

#[derive(Debug)]
struct ReadFiles(FileKind);

impl ReadFiles {
    fn name(&self) -> &'static str {
        match self.0 {
            FileKind::Parquet => "read_parquet",
            FileKind::Csv => "read_csv",
        }
    }

    async fn table(&self, session: &dyn Session, path: &str) -> Result<Arc<dyn TableProvider>> {
        let url = ListingTableUrl::parse(path)?;
        let (format, extension): (Arc<dyn datafusion::datasource::file_format::FileFormat>, _) =
            match self.0 {
                FileKind::Parquet => (
                    Arc::new(
                        ParquetFormat::default()
                            .with_options(session.table_options().parquet.clone()),
                    ),
                    ".parquet",
                ),
                FileKind::Csv => (
                    Arc::new(
                        CsvFormat::default()
                            .with_options(session.table_options().csv.clone())
                            .with_has_header(true),
                    ),
                    ".csv",
                ),
            };
        // A directory lists the files of the format; a file (or a glob) is read whatever its
        // name ends with.
        let is_dir = path.ends_with('/') || std::path::Path::new(path).is_dir();
        let options =
            ListingOptions::new(format).with_file_extension(if is_dir { extension } else { "" });
        let config = ListingTableConfig::new(url)
            .with_listing_options(options)
            .infer_schema(session)
            .await?;
        Ok(Arc::new(ListingTable::try_new(config)?))
    }
}

impl TableFunctionImpl for ReadFiles {
    fn call_with_args(&self, args: TableFunctionArgs) -> Result<Arc<dyn TableProvider>> {
        let path = match args.exprs() {
            [Expr::Literal(value, _)] => value.try_as_str().flatten().map(str::to_string),
            _ => None,
        };
        let Some(path) = path else {
            return datafusion::common::plan_err!(
                "{}(path) takes one string: a file, a directory or a glob",
                self.name()
            );
        };
        // Table functions are planned synchronously; listing the files and reading their
        // schema is asynchronous (the object store's local reads run on Tokio's blocking pool).
        futures::executor::block_on(self.table(args.session(), &path))
    }
}
