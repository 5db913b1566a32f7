//! The attendance functions in the PostgreSQL catalog, for psql's `\df` and the function lists
//! of other clients: one `pg_catalog.pg_proc` row per signature of each attendance function,
//! in schema `public`, beside the static rows `datafusion-pg-catalog` ships; and the catalog
//! functions `\df` calls (`pg_function_is_visible`, `pg_get_function_result`,
//! `pg_get_function_arguments`), which answer for those rows.
//!
//! The signatures come from `information_schema.routines` and `parameters` (DataFusion's view
//! of the registered functions), with DataFusion's type names mapped to PostgreSQL's.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::array::{Array, ArrayRef, AsArray, BooleanArray, RecordBatch, StringArray};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Int64Type};
use datafusion::catalog::{SchemaProvider, TableProvider};
use datafusion::common::ScalarValue;
use datafusion::datasource::MemTable;
use datafusion::error::{DataFusionError, Result};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};
use datafusion::prelude::SessionContext;

/// First oid of the attendance functions' rows (above PostgreSQL's own and the catalog's).
const FIRST_OID: i64 = 900_000;

/// One signature of an attendance function, as `\df` shows it.
#[derive(Debug, Clone)]
struct Function {
    oid: i64,
    name: String,
    aggregate: bool,
    arguments: String,
    result: String,
}

/// Adds the attendance functions to `ctx`'s `pg_catalog` (set up by `setup_pg_catalog` in
/// catalog `catalog`), and registers the catalog functions that describe them.
///
/// What does not change while the server runs (the functions' signatures, the catalog's static
/// `pg_proc` rows) is read once per process; each session only gets its own table and functions.
pub(super) async fn register(ctx: &SessionContext, catalog: &str) -> Result<()> {
    static FUNCTIONS: tokio::sync::OnceCell<Vec<Function>> = tokio::sync::OnceCell::const_new();
    let functions = FUNCTIONS
        .get_or_try_init(|| attendance_functions(ctx))
        .await?;
    let schema = ctx
        .catalog(catalog)
        .and_then(|c| c.schema("pg_catalog"))
        .ok_or_else(|| DataFusionError::Plan("pg_catalog is not set up".into()))?;
    let pg_proc = with_functions(ctx, schema.as_ref(), functions).await?;
    if let Some(c) = ctx.catalog(catalog) {
        c.register_schema(
            "pg_catalog",
            Arc::new(WithFunctions {
                inner: schema,
                pg_proc,
            }),
        )?;
    }
    let by_oid = |f: fn(&Function) -> String| -> Arc<BTreeMap<i64, String>> {
        Arc::new(functions.iter().map(|g| (g.oid, f(g))).collect())
    };
    ctx.register_udf(ScalarUDF::from(OidFunction::text(
        "pg_get_function_result",
        by_oid(|f| f.result.clone()),
    )));
    ctx.register_udf(ScalarUDF::from(OidFunction::text(
        "pg_get_function_arguments",
        by_oid(|f| f.arguments.clone()),
    )));
    ctx.register_udf(ScalarUDF::from(OidFunction::visible()));
    Ok(())
}

/// Every signature of the attendance functions (scalar and aggregate), in name order.
async fn attendance_functions(ctx: &SessionContext) -> Result<Vec<Function>> {
    let ours: Vec<(String, bool)> = attendance_udfs::all_scalar_udfs()
        .iter()
        .map(|f| (f.name().to_string(), false))
        .chain(
            attendance_udfs::all_aggregate_udfs()
                .iter()
                .map(|f| (f.name().to_string(), true)),
        )
        .collect();
    // One row per signature (`rid`) and parameter, the result as an OUT parameter.
    let batches = ctx
        .sql(
            "SELECT specific_name, CAST(rid AS BIGINT) AS rid, parameter_mode, \
                    coalesce(parameter_name, '') AS parameter_name, data_type \
             FROM information_schema.parameters \
             ORDER BY specific_name, rid, parameter_mode, ordinal_position",
        )
        .await?
        .collect()
        .await?;
    let mut signatures: BTreeMap<(String, i64), (Vec<String>, String)> = BTreeMap::new();
    for batch in &batches {
        let text = |i: usize| cast(batch.column(i), &DataType::Utf8);
        let (name, mode, parameter, data_type) = (text(0)?, text(2)?, text(3)?, text(4)?);
        let (name, mode) = (name.as_string::<i32>(), mode.as_string::<i32>());
        let (parameter, data_type) = (parameter.as_string::<i32>(), data_type.as_string::<i32>());
        let rid = batch.column(1).as_primitive::<Int64Type>();
        for row in 0..batch.num_rows() {
            if !ours.iter().any(|(n, _)| n == name.value(row)) {
                continue;
            }
            let entry = signatures
                .entry((name.value(row).to_string(), rid.value(row)))
                .or_default();
            let pg_type = postgres_type(data_type.value(row));
            if mode.value(row) == "OUT" {
                entry.1 = pg_type;
            } else if parameter.value(row).is_empty() {
                entry.0.push(pg_type);
            } else {
                entry.0.push(format!("{} {pg_type}", parameter.value(row)));
            }
        }
    }
    Ok(signatures
        .into_iter()
        .enumerate()
        .map(|(i, ((name, _), (arguments, result)))| Function {
            oid: FIRST_OID + i as i64,
            aggregate: ours.iter().any(|(n, a)| *n == name && *a),
            name,
            arguments: arguments.join(", "),
            result,
        })
        .collect())
}

/// PostgreSQL's name for a DataFusion type name of `information_schema`.
fn postgres_type(datafusion: &str) -> String {
    match datafusion {
        "Utf8" | "String" | "Utf8View" | "LargeUtf8" => "text",
        "Int64" => "bigint",
        "Int32" => "integer",
        "Int16" => "smallint",
        "Float64" => "double precision",
        "Float32" => "real",
        "Boolean" => "boolean",
        "Date32" | "Date" => "date",
        t if t.starts_with("Struct") => "record",
        t if t.starts_with("Timestamp") => "timestamp",
        other => other,
    }
    .to_string()
}

/// `pg_proc` (from `schema`, the catalog's) with a row for each of `functions` appended: the
/// oid, name, schema `public`, kind and argument count set, every other column null (or its
/// type's default where it may not be null).
async fn with_functions(
    ctx: &SessionContext,
    schema: &dyn SchemaProvider,
    functions: &[Function],
) -> Result<Arc<dyn TableProvider>> {
    let stored = schema
        .table("pg_proc")
        .await?
        .ok_or_else(|| DataFusionError::Plan("pg_catalog has no pg_proc".into()))?;
    static STATIC_ROWS: tokio::sync::OnceCell<Vec<RecordBatch>> =
        tokio::sync::OnceCell::const_new();
    let mut batches = STATIC_ROWS
        .get_or_try_init(|| async { ctx.read_table(stored.clone())?.collect().await })
        .await?
        .clone();
    let public = public_namespace(ctx).await?;
    let table_schema = stored.schema();
    let mut columns: Vec<ArrayRef> = Vec::new();
    for field in table_schema.fields() {
        let value = |f: &Function| -> Result<ScalarValue> {
            let given = match field.name().as_str() {
                "oid" => Some(ScalarValue::Int64(Some(f.oid))),
                "proname" => Some(ScalarValue::Utf8(Some(f.name.clone()))),
                "pronamespace" => Some(ScalarValue::Int64(Some(public))),
                "prokind" => Some(ScalarValue::Utf8(Some(
                    if f.aggregate { "a" } else { "f" }.into(),
                ))),
                "pronargs" => Some(ScalarValue::Int64(Some(
                    f.arguments.split(", ").filter(|a| !a.is_empty()).count() as i64,
                ))),
                _ => None,
            };
            match given {
                Some(v) => v.cast_to(field.data_type()),
                None if field.is_nullable() => ScalarValue::try_new_null(field.data_type()),
                None => ScalarValue::new_default(field.data_type()),
            }
        };
        let values = functions.iter().map(value).collect::<Result<Vec<_>>>()?;
        columns.push(if values.is_empty() {
            datafusion::arrow::array::new_empty_array(field.data_type())
        } else {
            ScalarValue::iter_to_array(values)?
        });
    }
    batches.push(RecordBatch::try_new(table_schema.clone(), columns)?);
    Ok(Arc::new(MemTable::try_new(table_schema, vec![batches])?))
}

/// The oid of schema `public` in the catalog's `pg_namespace`.
async fn public_namespace(ctx: &SessionContext) -> Result<i64> {
    let batches = ctx
        .sql("SELECT CAST(oid AS BIGINT) FROM pg_catalog.pg_namespace WHERE nspname = 'public'")
        .await?
        .collect()
        .await?;
    batches
        .iter()
        .find(|b| b.num_rows() > 0)
        .map(|b| b.column(0).as_primitive::<Int64Type>().value(0))
        .ok_or_else(|| DataFusionError::Plan("pg_namespace has no public".into()))
}

/// The catalog's schema provider with `pg_proc` replaced.
#[derive(Debug)]
struct WithFunctions {
    inner: Arc<dyn SchemaProvider>,
    pg_proc: Arc<dyn TableProvider>,
}

#[async_trait]
impl SchemaProvider for WithFunctions {
    fn table_names(&self) -> Vec<String> {
        self.inner.table_names()
    }

    async fn table(&self, name: &str) -> Result<Option<Arc<dyn TableProvider>>> {
        if name.eq_ignore_ascii_case("pg_proc") {
            return Ok(Some(self.pg_proc.clone()));
        }
        self.inner.table(name).await
    }

    fn table_exist(&self, name: &str) -> bool {
        self.inner.table_exist(name)
    }
}

/// A catalog function of one oid: text looked up by oid (NULL for other oids), or `true`.
#[derive(Debug, PartialEq, Eq, Hash)]
struct OidFunction {
    name: &'static str,
    text: Option<Arc<BTreeMap<i64, String>>>,
    signature: Signature,
}

impl OidFunction {
    fn text(name: &'static str, values: Arc<BTreeMap<i64, String>>) -> Self {
        Self {
            name,
            text: Some(values),
            signature: Signature::any(1, Volatility::Stable),
        }
    }

    /// `pg_function_is_visible(oid)`: every function is on the search path.
    fn visible() -> Self {
        Self {
            name: "pg_function_is_visible",
            text: None,
            signature: Signature::any(1, Volatility::Stable),
        }
    }
}

impl ScalarUDFImpl for OidFunction {
    fn name(&self) -> &str {
        self.name
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(match self.text {
            Some(_) => DataType::Utf8,
            None => DataType::Boolean,
        })
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let oids = args.args[0].to_array(args.number_rows)?;
        let oids = cast(&oids, &DataType::Int64)?;
        let oids = oids.as_primitive::<Int64Type>();
        let out: ArrayRef = match &self.text {
            Some(values) => Arc::new(
                (0..oids.len())
                    .map(|i| {
                        (!oids.is_null(i))
                            .then(|| values.get(&oids.value(i)).cloned())
                            .flatten()
                    })
                    .collect::<StringArray>(),
            ),
            None => Arc::new(BooleanArray::from(vec![true; oids.len()])),
        };
        Ok(ColumnarValue::Array(out))
    }
}
