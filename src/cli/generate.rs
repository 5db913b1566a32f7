//! `attendance generate`: Generate a synthetic store (or the CSV input files) of national-scale register data

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

use super::DataArg;

/// The options of `attendance generate`.
#[derive(Debug, Args)]
pub struct GenerateArgs {
    #[command(flatten)]
    pub data: DataArg,
    /// Number of pupils (England is about 8,300,000) [default: none, required]
    #[arg(long)]
    pub pupils: u64,
    /// Seed of the random generator
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Academic year, e.g. 2024-25
    #[arg(long, default_value = "2024-25")]
    pub year: String,
    /// Write the DOMAIN.md input files (CSV) into this directory instead of a store
    /// [default: none: write a store]
    #[arg(long)]
    pub csv: Option<PathBuf>,
    /// With --csv: write the register files as Parquet (same columns) instead of CSV
    /// [default: off]
    #[arg(long, requires = "csv")]
    pub parquet: bool,
    /// Keep only these LAs (old 3-digit codes) of the national data set [default: every LA]
    #[arg(long)]
    pub la: Vec<String>,
    /// Replace the data of a store that already holds some [default: off: such a store is
    /// refused]
    #[arg(long)]
    pub force: bool,
}

pub async fn run(args: GenerateArgs) -> anyhow::Result<()> {
    let GenerateArgs {
        data,
        pupils,
        seed,
        year,
        csv,
        parquet,
        la,
        force,
    } = args;
    let start: i32 = attendance_udfs::calendar::parse_academic_year(&year)
        .with_context(|| format!("`{year}` is not an academic year like 2024-25"))?;
    let config = crate::generate::GenerateConfig {
        pupils,
        seed,
        academic_year: start,
    };
    if let Some(dir) = csv.as_ref().filter(|_| !la.is_empty() || parquet) {
        let started = std::time::Instant::now();
        let selection = crate::generate::store::Selection::new(&config, &la)?;
        let marks = selection.write_inputs(dir, parquet)?;
        eprintln!(
            "{} schools, {} enrolments, {marks} marks written to {} in {:.1} s",
            selection.schools.num_rows(),
            selection.enrolments(),
            dir.display(),
            started.elapsed().as_secs_f64()
        );
        return Ok(());
    }
    if let Some(dir) = csv {
        let started = std::time::Instant::now();
        let dataset = crate::generate::plan(&config);
        let summary = dataset.write_csv(&dir)?;
        eprintln!(
            "{} schools, {} enrolments, {} marks in {} register files written to {} in {:.1} s",
            summary.schools,
            summary.enrolments,
            summary.marks,
            summary.register_files,
            dir.display(),
            started.elapsed().as_secs_f64()
        );
        return Ok(());
    }
    let store = data.store();
    let selection = crate::generate::store::Selection::new(&config, &la)?;
    let report = crate::generate::store::generate_store(
        &store,
        &selection,
        &data.session_options(),
        &super::progress::for_terminal(),
        force,
    )
    .await?;
    eprintln!(
        "{} schools, {} enrolments, {} marks ({} LAs) in {:.1} s: {:.0} marks/s, {} bytes ({:.3} bytes a mark)",
        report.schools,
        report.enrolments,
        report.marks,
        report.partitions,
        report.seconds,
        report.marks as f64 / report.seconds.max(1e-9),
        report.bytes,
        report.bytes as f64 / report.marks.max(1) as f64
    );
    let progress = super::progress::for_terminal();
    progress.step("building enrolment_summary", None);
    let summary = crate::summary::summarise(&store, &data.session_options(), true).await;
    progress.finish();
    let summary = summary?;
    eprintln!(
        "enrolment_summary: {} rows in {:.1} s",
        summary.rows, summary.seconds
    );
    Ok(())
}
