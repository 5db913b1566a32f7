//! `report.html`: one self-contained page (no network, no script or style from elsewhere: it
//! opens from a USB stick on a locked laptop) with the headline figures against the comparison
//! geographies, the weekly attendance chart, persistent absence by cohort as a chart and a
//! table, the school table of trust and LA reports, and the sortable pupil lists.
//!
//! The page is well-formed XML as well as HTML (every element closed, every attribute quoted,
//! every text escaped by [`escape`]), so that a strict parser can check it. Its one inline
//! script sorts the tables and, for the browser check (`tests/browser/render.sh`), marks the
//! body `data-check="ok"` when it ran to the end and every chart has marks, `empty-chart` or
//! `script-error` otherwise.

use std::collections::BTreeSet;
use std::fmt::Write;

use super::report::{ReportData, Text, Weeks};
use super::scope::{Kind, Selection};
use super::svg::{self, Bars, Series};

/// What the page shows.
pub struct Page<'a> {
    pub selection: &'a Selection,
    pub academic_year: &'a str,
    pub through: &'a str,
    pub weeks: &'a Weeks,
    pub recent_weeks: u32,
    pub data: &'a ReportData,
}

/// `text` with the characters that are markup in HTML and XML escaped.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() && c != '\n' && c != '\t' => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = include_str!("report.css");
const SCRIPT: &str = include_str!("report.js");

/// The whole page.
pub fn render(page: &Page) -> String {
    let title = format!("Attendance monitoring: {}", page.selection.title);
    let mut html = String::new();
    let _ = write!(
        html,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"/>\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>\
         <title>{}</title><style>{STYLE}</style></head><body data-check=\"pending\"><main>",
        escape(&title)
    );
    let _ = write!(html, "<h1>{}</h1>", escape(&title));
    html.push_str(&period(page));
    html.push_str(&headline(page));
    html.push_str(&weekly(page));
    html.push_str(&cohorts(page));
    if let Some(schools) = &page.data.schools {
        html.push_str(&school_table(page, &schools.text));
    }
    html.push_str(&pupil_lists(page));
    html.push_str(&notes(page));
    let _ = writeln!(html, "</main><script>{SCRIPT}</script></body></html>");
    html
}

fn period(page: &Page) -> String {
    let baseline = match &page.weeks.baseline {
        Some(week) => format!(
            "The recent span is the last {} reported weeks, after the week commencing {}.",
            page.recent_weeks,
            escape(week)
        ),
        None => format!(
            "Fewer than {} weeks before the recent span are reported: no pupil is newly \
             persistently absent against an earlier baseline, and none is falling.",
            page.recent_weeks + 1
        ),
    };
    format!(
        "<p class=\"period\">Academic year {}, year to date through {} (the last reported week \
         commences {}). {baseline}</p>",
        escape(page.academic_year),
        escape(page.through),
        escape(&page.weeks.last)
    )
}

/// The geographies of the report, in order: (level, key, label).
fn geographies(page: &Page) -> Vec<(&'static str, String, String)> {
    let mut out = vec![("Report", "Report".to_string(), page.selection.title.clone())];
    if let Some((code, name)) = page.selection.comparison_la() {
        out.push(("Local authority", code.to_string(), name.to_string()));
    }
    out.push(("National", "E92000001".to_string(), "England".to_string()));
    out
}

/// The cohort row of a geography, topic and breakdown.
fn cohort_row<'a>(
    text: &'a Text,
    level: &str,
    topic: &str,
    breakdown: &str,
) -> Option<&'a Vec<String>> {
    text.rows.iter().find(|r| {
        text.cell(r, "geographic_level") == level
            && text.cell(r, "breakdown_topic") == topic
            && text.cell(r, "breakdown") == breakdown
    })
}

/// A percentage cell as shown: one decimal place; `c` (suppressed) and blanks as they are.
fn pct(cell: &str) -> String {
    match cell.parse::<f64>() {
        Ok(v) => format!("{v:.1}%"),
        Err(_) => escape(cell),
    }
}

fn headline(page: &Page) -> String {
    let text = &page.data.cohorts.text;
    let mut html = String::from(
        "<section aria-labelledby=\"headline\"><h2 id=\"headline\">Year to date</h2>\
         <table class=\"headline\"><caption>Attendance, persistent absence (10% or more of \
         possible sessions missed) and severe absence (50% or more), year to date</caption>\
         <thead><tr><th scope=\"col\">Geography</th><th scope=\"col\">Pupils</th>\
         <th scope=\"col\">Attendance</th><th scope=\"col\">Persistently absent</th>\
         <th scope=\"col\">Severely absent</th></tr></thead><tbody>",
    );
    for (level, _, label) in geographies(page) {
        let Some(row) = cohort_row(text, level, "Total", "Total") else {
            continue;
        };
        let _ = write!(
            html,
            "<tr><th scope=\"row\">{}</th><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&label),
            escape(text.cell(row, "enrolments")),
            pct(text.cell(row, "attendance_percent")),
            pct(text.cell(row, "pa_percent")),
            pct(text.cell(row, "sa_percent"))
        );
    }
    html.push_str("</tbody></table></section>");
    html
}

fn weekly(page: &Page) -> String {
    let text = &page.data.weekly.text;
    let geos = geographies(page);
    let weeks: Vec<&str> = text
        .rows
        .iter()
        .map(|r| text.cell(r, "week_start"))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let series: Vec<Series> = geos
        .iter()
        .map(|(level, _, label)| Series {
            label,
            points: text
                .rows
                .iter()
                .filter(|r| text.cell(r, "geographic_level") == *level)
                .filter_map(|r| {
                    let value = text.cell(r, "attendance_percent").parse().ok()?;
                    Some((text.cell(r, "week_start"), value))
                })
                .collect(),
        })
        .collect();
    let names: Vec<&str> = geos.iter().map(|g| g.2.as_str()).collect();
    let desc = format!(
        "Attendance in each of {} reported weeks, as a percentage of possible sessions, for {}. \
         The table below gives the same figures.",
        weeks.len(),
        names.join(", ")
    );
    let mut html = String::from(
        "<section aria-labelledby=\"weekly\"><h2 id=\"weekly\">Attendance week by week</h2>",
    );
    html.push_str(&svg::weekly_chart(
        "weekly-chart",
        "Weekly attendance",
        &desc,
        &weeks,
        &series,
    ));
    html.push_str(
        "<table class=\"data sortable\"><caption>Weekly attendance (% of possible sessions)\
         </caption><thead><tr><th scope=\"col\">Week commencing</th>",
    );
    for name in &names {
        let _ = write!(html, "<th scope=\"col\">{}</th>", escape(name));
    }
    html.push_str("</tr></thead><tbody>");
    for week in &weeks {
        let _ = write!(html, "<tr><th scope=\"row\">{}</th>", escape(week));
        for s in &series {
            let cell = s
                .points
                .iter()
                .find(|p| p.0 == *week)
                .map(|p| format!("{:.1}%", p.1))
                .unwrap_or_default();
            let _ = write!(html, "<td>{cell}</td>");
        }
        html.push_str("</tr>");
    }
    html.push_str("</tbody></table></section>");
    html
}

fn cohorts(page: &Page) -> String {
    let text = &page.data.cohorts.text;
    let geos = geographies(page);
    let names: Vec<&str> = geos.iter().map(|g| g.2.as_str()).collect();
    let mut breakdowns: Vec<(&str, &str)> = Vec::new();
    for row in &text.rows {
        let key = (
            text.cell(row, "breakdown_topic"),
            text.cell(row, "breakdown"),
        );
        if text.cell(row, "geographic_level") == "Report" && !breakdowns.contains(&key) {
            breakdowns.push(key);
        }
    }
    let groups: Vec<Bars> = breakdowns
        .iter()
        .map(|(topic, breakdown)| Bars {
            label: label(topic, breakdown),
            values: geos
                .iter()
                .map(|(level, _, _)| {
                    cohort_row(text, level, topic, breakdown)
                        .and_then(|r| text.cell(r, "pa_percent").parse().ok())
                })
                .collect(),
            series: &names,
        })
        .collect();
    let desc = format!(
        "Persistent absence year to date, as a percentage of each cohort's pupils, for {}. \
         The table below gives the same figures with attendance; c marks a figure suppressed \
         because the cohort has 1 or 2 pupils.",
        names.join(", ")
    );
    let mut html = String::from(
        "<section aria-labelledby=\"cohorts\"><h2 id=\"cohorts\">Persistent absence by \
         cohort</h2>",
    );
    html.push_str(&svg::cohort_chart(
        "cohort-chart",
        "Persistent absence by cohort",
        &desc,
        &groups,
    ));
    html.push_str(&cohort_table(text, &geos, &breakdowns));
    html.push_str("</section>");
    html
}

fn label(topic: &str, breakdown: &str) -> String {
    if topic == "Total" || topic == breakdown {
        breakdown.to_string()
    } else {
        format!("{topic}: {breakdown}")
    }
}

fn cohort_table(
    text: &Text,
    geos: &[(&'static str, String, String)],
    breakdowns: &[(&str, &str)],
) -> String {
    let mut html = String::from(
        "<table class=\"data sortable\"><caption>Pupils, attendance and persistent absence \
         (PA) by cohort, year to date</caption><thead><tr><th scope=\"col\">Cohort</th>",
    );
    for (_, _, name) in geos {
        let name = escape(name);
        let _ = write!(
            html,
            "<th scope=\"col\">{name}: pupils</th><th scope=\"col\">{name}: attendance</th>\
             <th scope=\"col\">{name}: PA</th>"
        );
    }
    html.push_str("</tr></thead><tbody>");
    for (topic, breakdown) in breakdowns {
        let _ = write!(
            html,
            "<tr><th scope=\"row\">{}</th>",
            escape(&label(topic, breakdown))
        );
        for (level, _, _) in geos {
            match cohort_row(text, level, topic, breakdown) {
                Some(row) => {
                    let _ = write!(
                        html,
                        "<td>{}</td><td>{}</td><td>{}</td>",
                        escape(text.cell(row, "enrolments")),
                        pct(text.cell(row, "attendance_percent")),
                        pct(text.cell(row, "pa_percent"))
                    );
                }
                None => html.push_str("<td>0</td><td></td><td></td>"),
            }
        }
        html.push_str("</tr>");
    }
    html.push_str("</tbody></table>");
    html
}

fn school_table(page: &Page, text: &Text) -> String {
    let change = match &page.weeks.baseline {
        Some(week) => format!("PA change since w/c {} (points)", escape(week)),
        None => "PA change (no baseline)".to_string(),
    };
    let mut html = format!(
        "<section aria-labelledby=\"schools\"><h2 id=\"schools\">Schools</h2>\
         <table class=\"data sortable\"><caption>Schools ranked by persistent absence (PA) year \
         to date; c marks the figures of a school with 1 or 2 pupils</caption><thead><tr>\
         <th scope=\"col\">Rank</th><th scope=\"col\">School</th><th scope=\"col\">URN</th>\
         <th scope=\"col\">Phase</th><th scope=\"col\">Pupils</th>\
         <th scope=\"col\">Attendance</th><th scope=\"col\">PA</th><th scope=\"col\">SA</th>\
         <th scope=\"col\">Newly PA</th><th scope=\"col\">Falling</th>\
         <th scope=\"col\">{change}</th></tr></thead><tbody>"
    );
    for row in &text.rows {
        let change = match text.cell(row, "pa_change_points").parse::<f64>() {
            Ok(v) => format!("{v:+.1}"),
            Err(_) => escape(text.cell(row, "pa_change_points")),
        };
        let _ = write!(
            html,
            "<tr><td>{}</td><th scope=\"row\">{}</th><td>{}</td><td>{}</td><td>{}</td>\
             <td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{change}</td></tr>",
            escape(text.cell(row, "pa_rank")),
            escape(text.cell(row, "school_name")),
            escape(text.cell(row, "urn")),
            escape(text.cell(row, "phase")),
            escape(text.cell(row, "enrolments")),
            pct(text.cell(row, "attendance_percent")),
            pct(text.cell(row, "pa_percent")),
            pct(text.cell(row, "sa_percent")),
            escape(text.cell(row, "newly_persistent")),
            escape(text.cell(row, "falling")),
        );
    }
    html.push_str("</tbody></table></section>");
    html
}

fn pupil_lists(page: &Page) -> String {
    let mut html = String::from(
        "<section aria-labelledby=\"pupils\"><h2 id=\"pupils\">Pupils who need support</h2>",
    );
    if page.data.pupils.is_none() {
        html.push_str(
            "<p>Pupil lists are included in trust and local authority reports with \
             <code>--pupils</code>.</p></section>",
        );
        return html;
    }
    let many_schools = page.selection.schools.len() > 1;
    for (n, list) in page.data.lists.iter().enumerate() {
        let text = &list.output.text;
        let _ = write!(
            html,
            "<h3 id=\"list-{n}\">{} ({})</h3>",
            escape(list.heading),
            text.rows.len()
        );
        if text.rows.is_empty() {
            html.push_str("<p>No pupil.</p>");
            continue;
        }
        html.push_str(&pupil_table(page, list.heading, text, many_schools));
    }
    html.push_str("</section>");
    html
}

fn pupil_table(page: &Page, heading: &str, text: &Text, many_schools: bool) -> String {
    let mut html = format!(
        "<table class=\"data sortable pupils\"><caption>{}: year to date and the last {} \
         reported weeks</caption><thead><tr>",
        escape(heading),
        page.recent_weeks
    );
    let mut headers = vec!["Pupil", "Year", "Status", "Attendance", "Possible sessions"];
    if many_schools {
        headers.insert(0, "School (URN)");
    }
    headers.extend([
        "Recent attendance",
        "Recent possible",
        "Newly PA",
        "Falling",
    ]);
    headers.push("Sessions missed by reason");
    for header in headers {
        let _ = write!(html, "<th scope=\"col\">{header}</th>");
    }
    html.push_str("</tr></thead><tbody>");
    for row in &text.rows {
        let urn = text.cell(row, "urn");
        let pupil = text.cell(row, "pupil_id");
        html.push_str("<tr>");
        if many_schools {
            let _ = write!(html, "<td>{}</td>", escape(urn));
        }
        let _ = write!(
            html,
            "<th scope=\"row\">{}</th><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>\
             <td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(pupil),
            escape(text.cell(row, "nc_year")),
            escape(text.cell(row, "status")),
            pct(text.cell(row, "attendance_percent")),
            escape(text.cell(row, "possible")),
            pct(text.cell(row, "attendance_recent_percent")),
            escape(text.cell(row, "possible_recent")),
            yes_no(text.cell(row, "newly_persistent")),
            yes_no(text.cell(row, "falling")),
            reasons(page, urn, pupil)
        );
    }
    html.push_str("</tbody></table>");
    html
}

fn yes_no(cell: &str) -> &'static str {
    if cell == "true" { "yes" } else { "no" }
}

/// An enrolment's sessions missed by reason, e.g. "illness 4, no reason yet 2".
fn reasons(page: &Page, urn: &str, pupil: &str) -> String {
    let Some(missed) = page.data.reasons.get(&(urn.to_string(), pupil.to_string())) else {
        return String::new();
    };
    let parts: Vec<String> = missed
        .iter()
        .map(|(name, n)| format!("{} {n}", reason_label(name)))
        .collect();
    escape(&parts.join(", "))
}

/// The reason of a `reason_counts` field, in words (DOMAIN.md section 1).
fn reason_label(field: &str) -> &str {
    match field {
        "sess_auth_illness" => "illness",
        "sess_auth_appointments" => "appointments",
        "sess_auth_religious" => "religious observance",
        "sess_auth_study" => "study leave",
        "sess_auth_traveller" => "traveller",
        "sess_auth_holiday" => "authorised holiday",
        "sess_auth_excluded" => "suspended or excluded",
        "sess_auth_other" => "other authorised",
        "sess_auth_interview" => "interview",
        "sess_auth_reg_performance" => "regulated performance",
        "sess_auth_temp_reduced_timetable" => "part-time timetable",
        "sess_unauth_holiday" => "unauthorised holiday",
        "sess_unauth_late" => "late after registers closed",
        "sess_unauth_other" => "other unauthorised",
        "sess_unauth_noyet" => "no reason yet",
        other => other,
    }
}

fn notes(page: &Page) -> String {
    let scope = match page.selection.kind {
        Kind::School => {
            "This report shows this school's pupils only; outside the school's own figures, a \
             figure of 1 or 2 pupils is shown as c."
        }
        Kind::Trust | Kind::LocalAuthority => {
            "Figures of a school or cohort with 1 or 2 pupils are shown as c."
        }
    };
    format!(
        "<footer><h2>How the figures are made</h2><p>Pupils aged 5 to 15, alternative \
         provision excluded; each enrolment (a pupil at a school) counts on its own marks. \
         Severely absent: 50% or more of possible sessions missed; persistently absent: 10% \
         or more (and not severely); at risk: 5% to under 10%. Newly persistently absent: \
         persistently absent now and not at the end of the week {} reported weeks earlier. \
         Falling: attendance over the last {} reported weeks at least 5 percentage points \
         below attendance before them, with at least 10 possible sessions in each. {scope} \
         The CSV files beside this page hold every figure unrounded.</p></footer>",
        page.recent_weeks, page.recent_weeks
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup() {
        assert_eq!(
            escape("<b class=\"x\">Tom & Jerry's</b>\u{7}"),
            "&lt;b class=&quot;x&quot;&gt;Tom &amp; Jerry&#39;s&lt;/b&gt;\u{fffd}"
        );
    }

    #[test]
    fn percentages_keep_suppression_marks() {
        assert_eq!(pct("81.93979933110368"), "81.9%");
        assert_eq!(pct("c"), "c");
        assert_eq!(pct(""), "");
    }
}
