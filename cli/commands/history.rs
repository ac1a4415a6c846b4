//! `kfctl history`: the revisions an install's record keeps (`lifecycle::history`).

use anyhow::Result;
use serde_json::json;

use super::Outcome;
use crate::args::ListFormat;
use crate::lifecycle::history::read_revisions;
use crate::lifecycle::render::check_name;
use crate::lifecycle::target;
use crate::output::Printer;
use crate::settings::HistorySettings;
use crate::upgrade::revision::Revision;

pub async fn run(settings: &HistorySettings, printer: Printer) -> Result<Outcome> {
    check_name(&settings.name)?;
    let cluster = target::connect(&settings.cluster).await?;
    let revisions = read_revisions(&cluster, &settings.name).await?.1;
    print_history(&revisions, settings.output, printer)?;
    Ok(Outcome::Success)
}

fn print_history(revisions: &[Revision], format: ListFormat, printer: Printer) -> Result<()> {
    if format == ListFormat::Json {
        return printer.json(&json!({ "revisions": revisions }));
    }
    if revisions.is_empty() {
        printer.info("no revisions recorded");
        return Ok(());
    }
    let mut rows = vec![[
        "REVISION".to_owned(),
        "ACTION".to_owned(),
        "RELEASE".to_owned(),
        "RESULT".to_owned(),
        "STARTED".to_owned(),
        "ENDED".to_owned(),
        "WHO".to_owned(),
        "SOURCE".to_owned(),
    ]];
    for r in revisions {
        let mut action = r.action.to_string();
        if let Some(n) = r.source_revision {
            action.push_str(&format!(" to {n}"));
        }
        rows.push([
            r.number.to_string(),
            action,
            if r.release.is_empty() {
                "-".to_owned()
            } else {
                r.release.clone()
            },
            r.result.to_string(),
            r.started.clone(),
            r.ended.clone().unwrap_or_else(|| "-".to_owned()),
            r.who.clone(),
            r.pin.describe(),
        ]);
    }
    let widths: Vec<usize> = (0..8)
        .map(|i| rows.iter().map(|r| r[i].len()).max().unwrap_or(0))
        .collect();
    let mut text = String::new();
    for row in &rows {
        let line: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(cell, w)| format!("{cell:<w$}"))
            .collect();
        text.push_str(line.join("  ").trim_end());
        text.push('\n');
    }
    for r in revisions.iter().filter(|r| r.message.is_some()) {
        text.push_str(&format!(
            "\nrevision {}: {}\n",
            r.number,
            r.message.as_deref().unwrap_or_default()
        ));
    }
    printer.data(&text)?;
    Ok(())
}
