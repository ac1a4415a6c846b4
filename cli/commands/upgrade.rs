//! `kfctl upgrade`: render the recorded install again at another release, show the plan
//! (`upgrade::plan`), list the fields other managers own that it would take, and carry it out
//! through the apply path as a new revision; with `--atomic`, go back to the revision before
//! when the new one does not become healthy. `--plan-out` saves the plan with the facts it was
//! made from; `--plan` carries out exactly that plan, or refuses when the cluster changed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::Outcome;
use super::apply::{self, Install, Installed};
use super::history::{self, failure_line};
use crate::args::ListFormat;
use crate::cluster::Cluster;
use crate::cluster::apply::{
    self as cluster_apply, ApplyError, ApplyOptions, CONCURRENCY, ObjectError,
};
use crate::cluster::inventory::{Inventory, Parent};
use crate::errors::UserError;
use crate::output::Printer;
use crate::profile::{self, KfctlConfig, ResolvedProfile, Where};
use crate::render::RealFs;
use crate::resource::{Gvk, ResId, Resource};
use crate::settings::{ApplySettings, BuildInput, SourceSettings, UpgradeSettings};
use crate::upgrade::plan::{self, LiveFacts, UpgradePlan};
use crate::upgrade::revision::{self, Pin, ProfilePin, Revision, RevisionAction, RevisionResult};

/// What a platform render is made from, as the record pins it.
pub(crate) fn profile_pin(request: &profile::Request, resolved: &ResolvedProfile) -> Pin {
    let source_dir = resolved.source_dir.clone();
    Pin::Profile(Box::new(ProfilePin {
        root: request.root.clone(),
        platform: resolved.platform.clone(),
        release: resolved.release.clone(),
        source: resolved.source_name.clone(),
        source_version: resolved.source_version.clone(),
        source_dir_digest: crate::resource::digest::sha256_hex(
            source_dir.to_string_lossy().as_bytes(),
        ),
        source_dir,
        components: resolved.components.iter().map(|c| c.name.clone()).collect(),
        parameters: resolved
            .parameters
            .iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        config: request.config.as_ref().map(|c| c.file.clone()),
        sources: request.sources.clone(),
        sets: request.sets.clone(),
    }))
}

/// Each component and what it is made of: its upstream paths (relative to the source), its
/// project manifests and overlays (relative to kfctl's root), and the components enabled for it.
pub(crate) fn component_parts(resolved: &ResolvedProfile) -> BTreeMap<String, Vec<String>> {
    let relative = |p: &Path, base: &Path| {
        p.strip_prefix(base)
            .unwrap_or(p)
            .to_string_lossy()
            .into_owned()
    };
    resolved
        .components
        .iter()
        .map(|c| {
            let root = c
                .manifests
                .first()
                .or(c.overlays.first())
                .and_then(|p| p.ancestors().nth(2))
                .unwrap_or(Path::new("/"));
            let mut parts: Vec<String> = c
                .paths
                .iter()
                .map(|p| relative(p, &resolved.source_dir))
                .collect();
            parts.extend(c.manifests.iter().map(|p| relative(p, root)));
            parts.extend(c.overlays.iter().map(|p| relative(p, root)));
            parts.extend(
                resolved
                    .added
                    .iter()
                    .filter(|(_, by)| *by == c.name)
                    .map(|(added, _)| format!("needs {added}")),
            );
            (c.name.clone(), parts)
        })
        .collect()
}

/// The request that renders a pinned profile again, at `release`, with `sets`.
pub(crate) fn pin_request_at(
    pin: &ProfilePin,
    release: &str,
    sets: Vec<String>,
) -> Result<profile::Request> {
    let config = match &pin.config {
        Some(path) if !path.is_file() => {
            return Err(UserError::new(format!(
                "the install was made from `{}`, which no longer exists",
                path.display()
            ))
            .with_hint("pass the install's `kfctl.yaml` with `-f`")
            .into());
        }
        Some(path) => Some(
            KfctlConfig::load(&RealFs, path)
                .with_context(|| format!("cannot load `{}`", path.display()))?,
        ),
        None => None,
    };
    Ok(profile::Request {
        root: pin.root.clone(),
        cwd: std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/")),
        platform: Some((pin.platform.clone(), Where::Default)),
        release: Some((release.to_owned(), Where::Default)),
        config,
        sets,
        sources: pin.sources.clone(),
    })
}

/// Renders what `pin` pins again, as install `name`. A kustomization must render as it did.
pub(crate) fn render_pin(pin: &Pin, name: &str, printer: Printer) -> Result<Install> {
    match pin {
        Pin::Kustomize { dir, render_digest } => {
            if !dir.is_dir() {
                return Err(UserError::new(format!(
                    "the kustomization `{}` the revision was rendered from no longer exists",
                    dir.display()
                ))
                .into());
            }
            let install = apply::render_install(
                Some(&BuildInput::Dir(dir.clone())),
                Some(name),
                &SourceSettings::from_env(),
                printer,
            )?;
            if install.config_digest != *render_digest
                && apply::yaml_render_digest(&install.resources) != *render_digest
            {
                return Err(UserError::new(format!(
                    "the kustomization `{}` no longer renders what the revision installed (sha256 {} then, {} now)",
                    dir.display(),
                    &render_digest[..12.min(render_digest.len())],
                    &install.config_digest[..12.min(install.config_digest.len())]
                ))
                .with_hint("restore the directory as it was (its version control has it), or apply the new render with `kfctl apply -k`")
                .into());
            }
            Ok(install)
        }
        Pin::Profile(p) => {
            let request = pin_request_at(p, &p.release, p.sets.clone())?;
            apply::render_install(
                Some(&BuildInput::Profile(Box::new(request))),
                Some(name),
                &SourceSettings::from_env(),
                printer,
            )
        }
    }
}

/// A plan saved with `--plan-out`: what to install, the plan, and the facts it was made from.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SavedPlan {
    pub kind: String,
    pub install: String,
    pub context: String,
    pub server: String,
    pub from_revision: Option<u32>,
    pub from_release: String,
    pub to_release: String,
    pub pin: Pin,
    /// The sha256 of the new render: `--plan` renders again and must get the same objects.
    pub render_digest: String,
    /// The install parent's resourceVersion: any apply since changes it.
    pub parent_resource_version: String,
    /// The live resourceVersion of each object the plan changes or prunes.
    pub resource_versions: BTreeMap<String, String>,
    pub facts: LiveFacts,
    pub plan: UpgradePlan,
}

const SAVED_PLAN_KIND: &str = "KfctlUpgradePlan";

impl SavedPlan {
    fn load(path: &Path) -> Result<SavedPlan> {
        let text = crate::render::fs::read_text_at_most(path, crate::render::fs::MAX_INPUT_BYTES)
            .with_context(|| format!("cannot read the plan `{}`", path.display()))?;
        let plan: SavedPlan = serde_json::from_str(&text).map_err(|e| {
            UserError::new(format!(
                "`{}` is not a plan kfctl saved: {e}",
                path.display()
            ))
            .with_hint("make one with `kfctl upgrade --to RELEASE --plan-out FILE`")
        })?;
        if plan.kind != SAVED_PLAN_KIND {
            return Err(UserError::new(format!(
                "`{}` is not a plan kfctl saved (kind `{}`)",
                path.display(),
                plan.kind
            ))
            .into());
        }
        Ok(plan)
    }
}

/// The sha256 of a render's objects, in order.
fn render_digest(install: &Install) -> String {
    let mut hasher = Sha256::new();
    for res in install.resources.iter() {
        hasher.update(install.digest(res).as_bytes());
    }
    crate::resource::digest::hex(&hasher.finalize())
}

pub async fn run(settings: &UpgradeSettings, printer: Printer) -> Result<Outcome> {
    upgrade(settings, printer).await
}

/// The install name: the saved plan's, `--name`, the directory's for `-k`, else `kubeflow`.
fn install_name(settings: &UpgradeSettings, saved: Option<&SavedPlan>) -> String {
    if let Some(saved) = saved {
        return saved.install.clone();
    }
    match (&settings.apply.name, &settings.apply.input) {
        (Some(name), _) => name.clone(),
        (None, Some(BuildInput::Dir(dir))) => apply::default_name_of(dir),
        _ => "kubeflow".to_owned(),
    }
}

/// The render to upgrade to.
fn new_render(
    settings: &UpgradeSettings,
    saved: Option<&SavedPlan>,
    name: &str,
    current: Option<&Revision>,
    printer: Printer,
) -> Result<Install> {
    if let Some(saved) = saved {
        return match &saved.pin {
            Pin::Profile(p) => {
                let request = pin_request_at(p, &p.release, p.sets.clone())?;
                apply::render_install(
                    Some(&BuildInput::Profile(Box::new(request))),
                    Some(name),
                    &settings.apply.sources,
                    printer,
                )
            }
            pin => render_pin(pin, name, printer),
        };
    }
    if let Some(input) = &settings.apply.input {
        return apply::render_install(Some(input), Some(name), &settings.apply.sources, printer);
    }
    let Some(to) = &settings.to else {
        return Err(UserError::new("no release to upgrade to")
            .with_hint("pass `--to RELEASE` (`kfctl releases` lists them), or `--plan FILE`")
            .into());
    };
    match current.map(|r| &r.pin) {
        Some(Pin::Profile(p)) => {
            let mut sets = p.sets.clone();
            sets.extend(settings.sets.iter().cloned());
            let mut request = pin_request_at(p, to, sets)?;
            request.release = Some((to.clone(), Where::Flag(format!("--to {to}"))));
            // A `--source` of the installed release names that release's manifests, not the
            // new one's: only those given now apply.
            request.sources = settings.sources.clone();
            request.root = settings.root.clone();
            apply::render_install(
                Some(&BuildInput::Profile(Box::new(request))),
                Some(name),
                &settings.apply.sources,
                printer,
            )
        }
        Some(Pin::Kustomize { dir, .. }) => Err(UserError::new(format!(
            "install `{name}` was applied from the kustomization `{}`, which has no releases",
            dir.display()
        ))
        .with_hint("upgrade it with `kfctl upgrade -k DIR`")
        .into()),
        None => Err(UserError::new(format!(
            "install `{name}` has no revision recorded that says how it was rendered"
        ))
        .with_hint("pass what to render with `-p PLATFORM`, `-f kfctl.yaml` or `-k DIR`")
        .into()),
    }
}

fn crd_id(name: &str) -> ResId {
    ResId::new(
        Gvk::new("apiextensions.k8s.io", "v1", "CustomResourceDefinition"),
        name,
        "",
    )
}

/// The stored versions of every CRD the render or the record names.
pub(crate) async fn live_facts(
    cluster: &Cluster,
    install: &Install,
    recorded: &BTreeMap<ResId, String>,
) -> Result<LiveFacts> {
    let mut names: Vec<String> = install
        .resources
        .iter()
        .filter(|r| r.kind() == "CustomResourceDefinition")
        .map(|r| r.name().to_owned())
        .collect();
    names.extend(
        recorded
            .keys()
            .filter(|id| id.gvk.kind == "CustomResourceDefinition")
            .map(|id| id.name.clone()),
    );
    names.sort();
    names.dedup();
    let mut facts = LiveFacts::default();
    for name in names {
        let live = cluster
            .get(&crd_id(&name))
            .await
            .with_context(|| format!("cannot read CustomResourceDefinition `{name}`"))?;
        if let Some(stored) = live
            .as_ref()
            .and_then(|crd| crd.pointer("/status/storedVersions"))
            .and_then(Value::as_array)
        {
            facts.stored_versions.insert(
                name,
                stored
                    .iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect(),
            );
        }
    }
    Ok(facts)
}

/// The live resourceVersion of each object the plan changes or prunes, by id.
async fn live_versions(
    cluster: &Cluster,
    install: &Install,
    recorded: &BTreeMap<ResId, String>,
    plan: &UpgradePlan,
) -> BTreeMap<String, String> {
    let mut ids: Vec<ResId> = Vec::new();
    for res in install.resources.iter() {
        let id = res.id();
        if plan.changed.iter().any(|c| c.id == id.to_string()) {
            ids.push(id);
        }
    }
    ids.extend(
        recorded
            .keys()
            .filter(|id| plan.pruned.contains(&id.to_string()))
            .cloned(),
    );
    let mut out = BTreeMap::new();
    for id in ids {
        let version = match cluster.get(&id).await {
            Ok(Some(obj)) => obj
                .pointer("/metadata/resourceVersion")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned(),
            Ok(None) => "absent".to_owned(),
            Err(e) => format!("unreadable: {e}"),
        };
        out.insert(id.to_string(), version);
    }
    out
}

/// The plan, for a person.
pub(crate) fn print_plan(plan: &UpgradePlan, printer: Printer) {
    printer.info(&format!(
        "plan: {} to create, {} to change, {} to prune, {} unchanged",
        plan.created.len(),
        plan.changed.len(),
        plan.pruned.len(),
        plan.unchanged
    ));
    for id in &plan.created {
        printer.info(&format!("  + {id}"));
    }
    for c in &plan.changed {
        if c.paths.is_empty() {
            printer.info(&format!("  ~ {}", c.id));
        } else {
            printer.info(&format!("  ~ {}: {}", c.id, c.paths.join(", ")));
        }
    }
    for id in &plan.pruned {
        printer.info(&format!("  - {id}"));
    }
    if !plan.images.is_empty() {
        printer.info("images:");
        for i in &plan.images {
            printer.info(&format!(
                "  {} container `{}`: {} -> {}",
                i.object, i.container, i.from, i.to
            ));
        }
    }
    if !plan.crds.is_empty() {
        printer.info("CRDs:");
        for c in &plan.crds {
            let mut line = format!("  {}", c.name);
            if c.removed {
                line.push_str(": leaves the render (pruning it deletes its custom resources)");
            }
            if !c.added_versions.is_empty() {
                line.push_str(&format!(" +{}", c.added_versions.join(",+")));
            }
            if !c.removed_versions.is_empty() {
                line.push_str(&format!(" -{}", c.removed_versions.join(",-")));
            }
            if let Some(b) = &c.blocked {
                line.push_str(&format!(": BLOCKED: {b}"));
            }
            printer.info(&line);
        }
    }
    if !plan.immutable.is_empty() {
        printer.info(
            "needs a recreate with `--force` (the API server will not change these in place):",
        );
        for c in &plan.immutable {
            printer.info(&format!("  {} `{}`: {}", c.id, c.field, c.reason));
        }
    }
    if !plan.components.is_empty() {
        printer.info("components:");
        for c in &plan.components {
            printer.info(&format!("  {} {}", c.change, c.name));
            for d in &c.detail {
                printer.info(&format!("    {d}"));
            }
        }
    }
}

/// The plan from the installed revision to `new`.
async fn make_plan(
    cluster: &Cluster,
    parent: &Parent,
    current: Option<&Revision>,
    new: &Install,
    name: &str,
) -> Result<(UpgradePlan, LiveFacts)> {
    let quiet = Printer::new(false, true);
    let old = current.and_then(|r| match render_pin(&r.pin, name, quiet) {
        Ok(old) => Some(old),
        Err(e) => {
            tracing::info!("cannot render revision {} again: {e:#}", r.number);
            None
        }
    });
    let facts = live_facts(cluster, new, &parent.record.objects).await?;
    let mut upgrade_plan = plan::plan(
        old.as_ref().map(|o| &o.resources),
        &parent.record.objects,
        &new.resources,
        &|res| new.digest(res),
        &facts,
    );
    if let Some(old) = &old {
        upgrade_plan.components = plan::component_changes(&old.components, &new.components);
    }
    Ok((upgrade_plan, facts))
}

/// Fields of kfctl's objects another manager owns, found by a server-side dry run without
/// force, as `(object, managers)`.
async fn conflicts(
    cluster: &Cluster,
    install: &Install,
    labels: BTreeMap<String, String>,
    timeout: std::time::Duration,
) -> Vec<(String, Vec<String>)> {
    let options = ApplyOptions {
        dry_run: true,
        force_conflicts: false,
        concurrency: CONCURRENCY,
        deadline: tokio::time::Instant::now() + timeout,
        timeout,
        labels,
        force: false,
        // Every object is dry-run: none is skipped as unchanged.
        recorded: BTreeMap::new(),
        generations: BTreeMap::new(),
        digests: Default::default(),
    };
    let report = cluster_apply::apply(cluster, &install.resources, &options, &|_| {}).await;
    report
        .failed
        .into_iter()
        .filter_map(|f| match f.error {
            ObjectError::Conflict { managers, .. } => Some((f.id.to_string(), managers)),
            _ => None,
        })
        .collect()
}

/// CRDs of a rollback that would drop a version objects are stored in: the live CRD is kept
/// as it is (it stays in the install, so nothing prunes it), and the user is told.
pub(crate) async fn keep_newer_crds(
    cluster: &Cluster,
    install: &mut Install,
    printer: Printer,
) -> Result<Vec<String>> {
    let facts = live_facts(cluster, install, &BTreeMap::new()).await?;
    let mut kept = Vec::new();
    for index in 0..install.resources.len() {
        let res = install.resources.at(index);
        if res.kind() != "CustomResourceDefinition" {
            continue;
        }
        let Some(dropped) = plan::dropped_stored_versions(res, &facts) else {
            continue;
        };
        let name = res.name().to_owned();
        let Some(live) = cluster
            .get(&crd_id(&name))
            .await
            .with_context(|| format!("cannot read CustomResourceDefinition `{name}`"))?
        else {
            continue;
        };
        let mut metadata = serde_json::Map::new();
        metadata.insert("name".to_owned(), json!(name));
        for field in ["labels", "annotations"] {
            if let Some(v) = res.body.pointer(&format!("/metadata/{field}")) {
                metadata.insert(field.to_owned(), v.clone());
            }
        }
        let body = json!({
            "apiVersion": "apiextensions.k8s.io/v1",
            "kind": "CustomResourceDefinition",
            "metadata": metadata,
            "spec": live.get("spec").cloned().unwrap_or(Value::Null),
        });
        let origin = res.origin.clone();
        install
            .resources
            .replace_at(index, Resource::new(body, origin));
        printer.warn(&format!(
            "keeping the newer CustomResourceDefinition `{name}`: the revision's would drop {}, in which objects are stored, and they would be lost",
            dropped
                .iter()
                .map(|v| format!("`{v}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
        kept.push(name);
    }
    Ok(kept)
}

fn short(report: &cluster_apply::ApplyReport) -> Value {
    json!({
        "created": report.count(cluster_apply::Action::Created),
        "configured": report.count(cluster_apply::Action::Configured),
        "unchanged": report.count(cluster_apply::Action::Unchanged),
        "failed": report.failed.len(),
        "notReady": report.not_ready.len(),
        "durationMs": report.elapsed.as_millis() as u64,
    })
}

async fn upgrade(settings: &UpgradeSettings, printer: Printer) -> Result<Outcome> {
    let apply_settings = &settings.apply;
    let saved = settings.plan.as_deref().map(SavedPlan::load).transpose()?;
    let name = install_name(settings, saved.as_ref());
    // A saved plan is a file that may come from elsewhere: its install name is checked as
    // `--name` is.
    apply::check_name(&name)?;
    let cluster = Cluster::connect(
        apply_settings.kubeconfig.as_deref(),
        apply_settings.context.as_deref(),
    )
    .await
    .context("cannot connect to the cluster")?;
    let inventory = Inventory::new(&name);
    let Some(parent) = apply::describe_target(&cluster, &inventory, printer).await? else {
        return Err(UserError::new(format!(
            "no install `{name}` is recorded in context `{}`",
            cluster.context()
        ))
        .with_hint("install it with `kfctl apply` first, or name another with `--name`")
        .into());
    };
    let current = revision::current(&parent.record.revisions).cloned();
    let from_release = current
        .as_ref()
        .map(|r| r.release.clone())
        .unwrap_or_else(|| parent.record.release.clone());
    let new = new_render(settings, saved.as_ref(), &name, current.as_ref(), printer)?;
    let to = if new.release.is_empty() {
        new.pin.describe()
    } else {
        new.release.clone()
    };
    printer.info(&format!(
        "upgrade: install `{name}` from {} (revision {}) to {to}",
        if from_release.is_empty() {
            "-"
        } else {
            &from_release
        },
        current
            .as_ref()
            .map_or_else(|| "none".to_owned(), |r| r.number.to_string())
    ));
    let (upgrade_plan, facts) = make_plan(&cluster, &parent, current.as_ref(), &new, &name).await?;
    print_plan(&upgrade_plan, printer);
    let versions = live_versions(&cluster, &new, &parent.record.objects, &upgrade_plan).await;

    if let Some(saved) = &saved {
        let mut changes = Vec::new();
        if saved.render_digest != render_digest(&new) {
            changes.push(
                "the render is not the one planned (the sources or the catalog changed)".to_owned(),
            );
        }
        if saved.parent_resource_version != parent.resource_version {
            changes.push(format!(
                "the install's record changed (ConfigMap `{}` is at resourceVersion {}, the plan was made at {})",
                inventory.parent, parent.resource_version, saved.parent_resource_version
            ));
        }
        for (id, version) in &saved.resource_versions {
            let now = versions.get(id).map(String::as_str).unwrap_or("absent");
            if now != version {
                changes.push(format!(
                    "{id} changed (resourceVersion {now}, the plan was made at {version})"
                ));
            }
        }
        if saved.facts != facts {
            changes.push("the stored versions of a CRD changed".to_owned());
        }
        if !changes.is_empty() {
            return Err(UserError::new(format!(
                "the cluster changed since the plan was made, so it is not carried out:\n    {}",
                changes.join("\n    ")
            ))
            .with_hint(
                "make a new plan with `kfctl upgrade --to RELEASE --plan-out FILE` and review it",
            )
            .into());
        }
        printer.info("the saved plan still holds: the cluster has not changed since it was made");
    }

    let blocked = upgrade_plan.blocked();
    if !blocked.is_empty() {
        let lines: Vec<String> = blocked
            .iter()
            .map(|c| format!("{}: {}", c.name, c.blocked.as_deref().unwrap_or_default()))
            .collect();
        return Err(UserError::new(format!(
            "the upgrade is blocked:\n    {}",
            lines.join("\n    ")
        ))
        .with_hint("migrate the stored objects to a version the new CRD serves (read and write each one, or run kube-storage-version-migrator), then drop the old version from the CRD's `status.storedVersions`")
        .into());
    }

    if let Some(path) = &settings.plan_out {
        let saved = SavedPlan {
            kind: SAVED_PLAN_KIND.to_owned(),
            install: name.clone(),
            context: cluster.context().to_owned(),
            server: cluster.server().to_owned(),
            from_revision: current.as_ref().map(|r| r.number),
            from_release,
            to_release: new.release.clone(),
            pin: new.pin.clone(),
            render_digest: render_digest(&new),
            parent_resource_version: parent.resource_version.clone(),
            resource_versions: versions,
            facts,
            plan: upgrade_plan,
        };
        let mut text = serde_json::to_string_pretty(&saved)?;
        text.push('\n');
        std::fs::write(path, text)
            .with_context(|| format!("cannot write the plan to `{}`", path.display()))?;
        printer.info(&format!(
            "plan saved to `{}`; carry it out with `kfctl upgrade --plan {}`",
            path.display(),
            crate::shell::quote(&path.display().to_string())
        ));
        return Ok(Outcome::Success);
    }

    let same_revision = current
        .as_ref()
        .is_some_and(|r| r.config_digest == new.config_digest);
    if upgrade_plan.is_empty() && same_revision {
        printer.info("nothing to upgrade: the install is already at this render");
        if apply_settings.output == ListFormat::Json {
            printer.data(&format!(
                "{}\n",
                serde_json::to_string_pretty(&json!({
                    "install": name,
                    "from": from_release,
                    "to": new.release,
                    "nothingToDo": true,
                    "succeeded": true,
                    "rolledBack": false,
                    "plan": upgrade_plan,
                }))?
            ))?;
        }
        return Ok(if settings.exit_code {
            Outcome::Changes
        } else {
            Outcome::Success
        });
    }

    if !upgrade_plan.immutable.is_empty() && !apply_settings.force && !apply_settings.dry_run {
        let lines: Vec<String> = upgrade_plan
            .immutable
            .iter()
            .map(|c| format!("{} `{}`: {}", c.id, c.field, c.reason))
            .collect();
        return Err(UserError::new(format!(
            "nothing was written: the upgrade changes fields the API server will not change in place:\n    {}",
            lines.join("\n    ")
        ))
        .with_hint("pass `--force` to delete these objects and create them again (their pods restart, a claim's data goes with it)")
        .into());
    }

    // Preflight, as `kfctl apply` runs it: a missing permission or a cluster the new render
    // cannot go on stops the upgrade before anything is written.
    let version = cluster
        .server_version()
        .await
        .context("cannot reach the cluster")?;
    let pruned: Vec<ResId> = parent
        .record
        .objects
        .keys()
        .filter(|id| upgrade_plan.pruned.contains(&id.to_string()))
        .cloned()
        .collect();
    apply::check_cluster_pruning(apply_settings, &new, &cluster, &version, &pruned, printer)
        .await?;

    if !apply_settings.dry_run && !apply_settings.force_conflicts {
        let found = conflicts(
            &cluster,
            &new,
            inventory.member_labels(),
            apply_settings.timeout,
        )
        .await;
        if !found.is_empty() {
            let lines: Vec<String> = found
                .iter()
                .map(|(id, managers)| {
                    format!(
                        "{id}: owned by {}",
                        managers
                            .iter()
                            .map(|m| format!("`{m}`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                })
                .collect();
            return Err(UserError::new(format!(
                "nothing was written: fields kfctl sets are owned by other field managers:\n    {}",
                lines.join("\n    ")
            ))
            .with_hint("pass `--force-conflicts` to take the fields over, or undo the other managers' changes")
            .into());
        }
    }
    if !apply_settings.dry_run && !apply_settings.yes {
        apply::confirm(apply_settings, &new, cluster.context(), printer)?;
    }

    let guard =
        apply::acquire_lock(&cluster, &name, apply_settings, "kfctl upgrade", printer).await?;
    let result: Result<Outcome> = async {
        let done = apply::apply_install(
            apply_settings,
            &cluster,
            &new,
            Some(parent),
            RevisionAction::Upgrade,
            None,
            printer,
        )
        .await?;
        printer.info(&apply::summary(&done.report, apply_settings.dry_run));
        let mut out = json!({
            "install": name,
            "context": cluster.context(),
            "from": from_release,
            "to": new.release,
            "nothingToDo": false,
            "dryRun": apply_settings.dry_run,
            "plan": upgrade_plan,
            "revision": done.revision.as_ref().map(|r| r.number),
            "totals": short(&done.report),
            "succeeded": done.report.succeeded(),
            "rolledBack": false,
        });
        if done.report.succeeded() {
            if apply_settings.output == ListFormat::Json {
                printer.data(&format!("{}\n", serde_json::to_string_pretty(&out)?))?;
            }
            return Ok(Outcome::Success);
        }

        let reason = failure_line(&done.report, apply_settings.timeout);
        out["reason"] = json!(reason);
        let mut message = format!("the upgrade of install `{name}` to {to} failed");
        let rollback_to = current.filter(|_| settings.atomic && !apply_settings.dry_run);
        if let Some(previous) = rollback_to {
            printer.info(&format!(
                "rolling back to revision {} (`--atomic`): {reason}",
                previous.number
            ));
            let rolled =
                rollback_to_revision(apply_settings, &cluster, &name, &previous, printer).await;
            match rolled {
                Ok(back) if back.report.succeeded() => {
                    if let Some(mut failed) = done.revision.clone() {
                        failed.result = RevisionResult::RolledBack;
                        let stored = history::read_revisions(&cluster, &name).await?.1;
                        history::finish(&cluster, &inventory, &stored, failed).await?;
                    }
                    out["rolledBack"] = json!(true);
                    out["rollbackRevision"] = json!(back.revision.as_ref().map(|r| r.number));
                    message.push_str(&format!("; rolled back to revision {}", previous.number));
                }
                Ok(back) => {
                    let why = failure_line(&back.report, apply_settings.timeout);
                    out["rollbackError"] = json!(why);
                    message.push_str(&format!(
                        "; the rollback to revision {} failed too: {why}",
                        previous.number
                    ));
                }
                Err(e) => {
                    out["rollbackError"] = json!(format!("{e:#}"));
                    message.push_str(&format!(
                        "; the rollback to revision {} failed too: {e:#}",
                        previous.number
                    ));
                }
            }
        }
        if apply_settings.output == ListFormat::Json {
            printer.data(&format!("{}\n", serde_json::to_string_pretty(&out)?))?;
        }
        // What failed, object by object, with the hint for it (a missing permission, a conflict),
        // under a line saying whether kfctl went back.
        match ApplyError::from_report(done.report, apply_settings.timeout) {
            Some(err) => Err(anyhow::Error::new(err).context(message)),
            None => Err(UserError::new(format!("{message}: {reason}")).into()),
        }
    }
    .await;
    if let Some(guard) = guard {
        apply::release(guard, printer).await;
    }
    result
}

/// Renders `target` again and applies it as a rollback revision; newer CRDs that hold data
/// are kept.
pub(crate) async fn rollback_to_revision(
    settings: &ApplySettings,
    cluster: &Cluster,
    name: &str,
    target: &Revision,
    printer: Printer,
) -> Result<Installed> {
    let mut install = render_pin(&target.pin, name, printer)?;
    if !target.config_digest.is_empty() && install.config_digest != target.config_digest {
        printer.warn(&format!(
            "revision {} renders differently now (its `kfctl.yaml` or kfctl's profiles changed since)",
            target.number
        ));
    }
    keep_newer_crds(cluster, &mut install, printer).await?;
    let parent = Inventory::new(name)
        .read(cluster)
        .await
        .context("cannot read the install's inventory")?;
    let fresh = ApplySettings {
        timeout: settings.timeout,
        ..settings.clone()
    };
    apply::apply_install(
        &fresh,
        cluster,
        &install,
        parent,
        RevisionAction::Rollback,
        Some(target.number),
        printer,
    )
    .await
}
