//! `kfctl import KFDEF`: a kfctl v1 KfDef turned into a `kfctl.yaml`, with a report on stderr of
//! what could not be carried over.

use anyhow::{Context, Result};

use super::Outcome;
use crate::args::ImportArgs;
use crate::output::Printer;
use crate::output::{refuse_overwrite, write_atomically};
use crate::profile::doc::SourceFile;
use crate::profile::write::escape_control;
use crate::profile::{Catalog, PlatformProfile, kfdef};
use crate::render::RealFs;
use crate::settings::CatalogSettings;

pub fn run(args: &ImportArgs, settings: &CatalogSettings, printer: Printer) -> Result<Outcome> {
    let to_stdout = args.write.output.as_os_str() == "-";
    if !to_stdout {
        refuse_overwrite(&args.write.output, args.write.force)?;
    }
    let what = format!("cannot import `{}`", args.kfdef.display());
    let file = SourceFile::read(&RealFs, &args.kfdef).context(what.clone())?;
    let def = kfdef::parse(&file).context(what.clone())?;
    let catalog = Catalog::load_with(&RealFs, &settings.root, settings.catalog.as_deref())
        .context("cannot read the catalog")?;
    let platform = kfdef::platform(&def);
    let profile = PlatformProfile::load(&RealFs, &settings.root, platform)
        .with_context(|| format!("cannot read platform `{platform}`"))?;
    let source = args
        .kfdef
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| args.kfdef.display().to_string());
    let imported = kfdef::convert(&def, &source, &catalog, &profile).context(what)?;

    let text = imported
        .to_yaml()
        .context("cannot write the config as YAML")?;
    if to_stdout {
        printer.data(&text)?;
    } else {
        write_atomically(&args.write.output, &text)
            .with_context(|| format!("cannot write `{}`", args.write.output.display()))?;
    }
    printer.info(&report(&def, &imported));
    if !to_stdout {
        printer.info(&format!("wrote `{}`", args.write.output.display()));
    }
    Ok(Outcome::Success)
}

/// What went where, what did not, and what is left to set.
fn report(def: &kfdef::KfDef, imported: &kfdef::Imported) -> String {
    let mut out = format!(
        "platform `{}`, release `{}` (the catalog's newest; the KfDef was for kfctl {})\n",
        imported.platform,
        imported.release,
        escape_control(def.version.as_deref().unwrap_or("of an unknown version")),
    );
    out.push_str("applications:\n");
    for (app, components) in &imported.mapped {
        let to = if components.is_empty() {
            "(not carried over)".to_owned()
        } else {
            components
                .iter()
                .map(|c| format!("`{c}`"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        out.push_str(&format!("  {} -> {to}\n", escape_control(app)));
    }
    if !imported.notes.is_empty() {
        out.push_str(&format!("not carried over ({}):\n", imported.notes.len()));
        for n in &imported.notes {
            let line = n.line.map(|l| format!("line {l}: ")).unwrap_or_default();
            out.push_str(&format!(
                "  - {line}{}: {}\n",
                escape_control(&n.what),
                escape_control(&n.why)
            ));
        }
    }
    if !imported.missing.is_empty() {
        out.push_str(&format!(
            "still to set (required by platform `{}`, not in the KfDef): {}\n  under `spec.parameters`, or with `--set NAME=VALUE`",
            imported.platform,
            imported
                .missing
                .iter()
                .map(|m| format!("`{m}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    out.trim_end().to_owned()
}
