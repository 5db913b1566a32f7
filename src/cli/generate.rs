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
    /// Academic year, e.g. 2024-25 [default: 2024-25, or the year of the --calibrate file]
    #[arg(long)]
    pub year: Option<String>,
    /// Write the DOMAIN.md input files (CSV) into this directory instead of a store
    /// [default: none: write a store]
    #[arg(long, conflicts_with = "daily_csv")]
    pub csv: Option<PathBuf>,
    /// Write the year as a daily feed into this directory instead of a store: schools.csv,
    /// pupils.csv and one registers-YYYY-MM-DD.csv per school day (every school, sorted by urn
    /// and pupil_id), to replay with `attendance ingest --registers DAY.csv` [default: none]
    #[arg(long, value_name = "DIR")]
    pub daily_csv: Option<PathBuf>,
    /// Stop the year at this date (YYYY-MM-DD): no marks after it, in the store or the files
    /// [default: the whole year]
    #[arg(long, value_name = "DATE")]
    pub through: Option<String>,
    /// Calibrate LA by LA and phase by phase to this DfE file of the reference layout (LA x phase
    /// rows with session counts, e.g. dfe_pupil_attendance_ytd_2024-25_la_phase.csv, any year);
    /// the academic year and term dates follow the file's time_period [default: the embedded
    /// 2024/25 table]
    #[arg(long, value_name = "FILE")]
    pub calibrate: Option<PathBuf>,
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
    let selection = selection(&args)?;
    let GenerateArgs {
        data,
        csv,
        daily_csv,
        parquet,
        la,
        force,
        ..
    } = args;
    if let Some(dir) = daily_csv {
        let started = std::time::Instant::now();
        let s = selection.write_daily(&dir, &super::progress::for_terminal())?;
        eprintln!(
            "{} schools, {} enrolments, {} marks in {} daily register files ({} to {}) written to {} in {:.1} s",
            s.schools,
            s.enrolments,
            s.marks,
            s.days,
            s.first.unwrap_or_default(),
            s.last.unwrap_or_default(),
            dir.display(),
            started.elapsed().as_secs_f64()
        );
        return Ok(());
    }
    if let Some(dir) = csv.as_ref().filter(|_| !la.is_empty() || parquet) {
        let started = std::time::Instant::now();
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
        let summary = selection.dataset.write_csv(&dir)?;
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

/// The planned data set of the options: its calibration and academic year, the cut at
/// `--through`, and the `--la` selection.
fn selection(args: &GenerateArgs) -> anyhow::Result<crate::generate::store::Selection> {
    let calibration = match &args.calibrate {
        Some(path) => crate::generate::Calibration::from_file(path)?,
        None => crate::generate::Calibration::embedded(),
    };
    let year = match &args.year {
        Some(year) => {
            let start = attendance_udfs::calendar::parse_academic_year(year)
                .with_context(|| format!("`{year}` is not an academic year like 2024-25"))?;
            if args.calibrate.is_some() && start != calibration.academic_year {
                anyhow::bail!(
                    "--year {year} is not the year of the --calibrate file ({}); leave --year out",
                    crate::generate::year_label(calibration.academic_year)
                );
            }
            start
        }
        None => calibration.academic_year,
    };
    let config = crate::generate::GenerateConfig {
        pupils: args.pupils,
        seed: args.seed,
        academic_year: year,
    };
    let mut dataset = crate::generate::plan_calibrated(&config, &calibration);
    if let Some(through) = &args.through {
        let date = chrono::NaiveDate::parse_from_str(through, "%Y-%m-%d")
            .with_context(|| format!("--through `{through}` is not a date like 2024-10-31"))?;
        dataset.cut_at(date)?;
    }
    Ok(crate::generate::store::Selection::of(dataset, &args.la)?)
}
