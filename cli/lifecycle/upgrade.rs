//! Upgrades and rollbacks: the plan from the installed revision to a new render (with the live
//! facts it depends on), what stops an upgrade before anything is written, and carrying it out
//! as a new revision, going back on failure when asked.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::Events;
use super::apply::{Installed, apply_install};
use super::render::{Install, pin_request_at, render_install, render_pin};
use crate::cluster::apply::{self as cluster_apply, ApplyOptions, CONCURRENCY, ObjectError};
use crate::cluster::inventory::{Inventory, Parent};
use crate::cluster::{Cluster, listing};
use crate::errors::UserError;
use crate::profile::Where;
use crate::resource::{Gvk, ResId, Resource};
use crate::settings::{ApplySettings, BuildInput, UpgradeSettings};
use crate::upgrade::plan::{self, LiveFacts, UpgradePlan};
use crate::upgrade::revision::{self, Pin, Revision, RevisionAction, RevisionResult};

/// A plan saved with `--plan-out`: what to install, the plan, and the facts it was made from.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SavedPlan {
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

pub const SAVED_PLAN_KIND: &str = "KfctlUpgradePlan";

impl SavedPlan {
    pub fn load(path: &Path) -> Result<SavedPlan> {
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

/// The install name: the saved plan's, `--name`, the directory's for `-k`, else `kubeflow`.
pub fn install_name(settings: &UpgradeSettings, saved: Option<&SavedPlan>) -> String {
    if let Some(saved) = saved {
        return saved.install.clone();
    }
    settings.apply.install.install_name()
}

/// The render to upgrade to.
pub fn new_render(
    settings: &UpgradeSettings,
    saved: Option<&SavedPlan>,
    name: &str,
    current: Option<&Revision>,
    events: Events<'_>,
) -> Result<Install> {
    if let Some(saved) = saved {
        return match &saved.pin {
            Pin::Profile(p) => {
                let request = pin_request_at(p, &p.release, p.sets.clone())?;
                render_install(
                    &BuildInput::Profile(Box::new(request)),
                    Some(name),
                    &settings.apply.install.sources,
                    events,
                )
            }
            pin => render_pin(pin, name, events),
        };
    }
    if let Some(input) = &settings.apply.install.input {
        return render_install(input, Some(name), &settings.apply.install.sources, events);
    }
    let Some(to) = &settings.to else {
        return Err(UserError::new("no release to upgrade to")
            .with_hint("pass `--to RELEASE` (`kfctl releases` lists them), or `--plan FILE`")
            .into());
    };
    match current.map(|r| &r.pin) {
        Some(Pin::Profile(p)) => {
            let mut sets = p.sets.clone();
            sets.extend(settings.from_record.sets.iter().cloned());
            // A `--catalog` given now replaces the record's, which may have changed since.
            let mut pin = p.clone();
            if settings.from_record.catalog.is_some() {
                pin.catalog = None;
            }
            let mut request = pin_request_at(&pin, to, sets)?;
            request.release = Some((to.clone(), Where::Flag(format!("--to {to}"))));
            // A `--source` of the installed release names that release's manifests, not the
            // new one's: only those given now apply.
            request.sources = settings.from_record.sources.clone();
            request.root = settings.from_record.root.clone();
            if let Some(catalog) = &settings.from_record.catalog {
                request.catalog = Some(catalog.clone());
            }
            render_install(
                &BuildInput::Profile(Box::new(request)),
                Some(name),
                &settings.apply.install.sources,
                events,
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
pub async fn live_facts(
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
pub async fn live_versions(
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

/// The plan from the installed revision to `new`.
pub async fn make_plan(
    cluster: &Cluster,
    parent: &Parent,
    current: Option<&Revision>,
    new: &Install,
    name: &str,
    purge: bool,
) -> Result<(UpgradePlan, LiveFacts)> {
    let old = current.and_then(|r| match render_pin(&r.pin, name, Events::ignored()) {
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
    let from = current.map_or(parent.record.release.as_str(), |r| r.release.as_str());
    super::migrate::add_to_plan(&mut upgrade_plan, new, from, &parent.record.objects, purge);
    Ok((upgrade_plan, facts))
}

/// Fields of kfctl's objects another manager owns, found by a server-side dry run without
/// force, as `(object, managers)`.
pub async fn conflicts(
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
pub async fn keep_newer_crds(
    cluster: &Cluster,
    install: &mut Install,
    events: Events<'_>,
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
        events.warn(format!(
            "keeping the newer CustomResourceDefinition `{name}`: the revision's would drop {}, in which objects are stored, and they would be lost",
            listing(&dropped)
        ));
        kept.push(name);
    }
    Ok(kept)
}

/// An upgrade, planned: the install as recorded, what it goes to, and the plan between.
pub struct Planned {
    pub name: String,
    pub parent: Parent,
    /// The installed revision; `None` for an install recorded before revisions were.
    pub current: Option<Revision>,
    pub from_release: String,
    /// The release it goes to, or what the render is made from when it has none.
    pub to: String,
    pub new: Install,
    pub plan: UpgradePlan,
    pub facts: LiveFacts,
    /// The live resourceVersion of each object the plan changes or prunes.
    pub versions: BTreeMap<String, String>,
}

impl Planned {
    /// The recorded objects the plan prunes.
    pub fn pruned(&self) -> Vec<ResId> {
        pruned_ids(&self.parent, &self.plan)
    }

    /// Whether there is nothing to do: no change planned and the revision already at this render.
    pub fn nothing_to_do(&self) -> bool {
        let same_revision = self
            .current
            .as_ref()
            .is_some_and(|r| r.config_digest == self.new.config_digest);
        self.plan.is_empty() && same_revision
    }

    /// The plan as `--plan-out` saves it.
    pub fn saved(&self, cluster: &Cluster) -> SavedPlan {
        SavedPlan {
            kind: SAVED_PLAN_KIND.to_owned(),
            install: self.name.clone(),
            context: cluster.context().to_owned(),
            server: cluster.server().to_owned(),
            from_revision: self.current.as_ref().map(|r| r.number),
            from_release: self.from_release.clone(),
            to_release: self.new.release.clone(),
            pin: self.new.pin.clone(),
            render_digest: self.new.render_digest(),
            parent_resource_version: self.parent.resource_version.clone(),
            resource_versions: self.versions.clone(),
            facts: self.facts.clone(),
            plan: self.plan.clone(),
        }
    }
}

/// The recorded objects of `parent` that `plan` prunes.
pub fn pruned_ids(parent: &Parent, plan: &UpgradePlan) -> Vec<ResId> {
    parent
        .record
        .objects
        .keys()
        .filter(|id| plan.pruned.contains(&id.to_string()))
        .cloned()
        .collect()
}

/// Plans the upgrade of install `name` (recorded as `parent`) to `new`; `purge` as the apply's.
pub async fn plan_upgrade(
    cluster: &Cluster,
    parent: Parent,
    new: Install,
    purge: bool,
) -> Result<Planned> {
    let name = new.name.clone();
    let current = crate::upgrade::revision::current(&parent.record.revisions).cloned();
    let from_release = current
        .as_ref()
        .map(|r| r.release.clone())
        .unwrap_or_else(|| parent.record.release.clone());
    let to = if new.release.is_empty() {
        new.pin.describe()
    } else {
        new.release.clone()
    };
    let (plan, facts) = make_plan(cluster, &parent, current.as_ref(), &new, &name, purge).await?;
    let versions = live_versions(cluster, &new, &parent.record.objects, &plan).await;
    Ok(Planned {
        name,
        parent,
        current,
        from_release,
        to,
        new,
        plan,
        facts,
        versions,
    })
}

/// Refuses a saved plan the cluster or the render has moved away from.
pub fn check_still_holds(
    saved: &SavedPlan,
    planned: &Planned,
    inventory: &Inventory,
) -> Result<()> {
    let mut changes = Vec::new();
    if saved.render_digest != planned.new.render_digest() {
        changes.push(
            "the render is not the one planned (the sources or the catalog changed)".to_owned(),
        );
    }
    if saved.parent_resource_version != planned.parent.resource_version {
        changes.push(format!(
            "the install's record changed (ConfigMap `{}` is at resourceVersion {}, the plan was made at {})",
            inventory.parent, planned.parent.resource_version, saved.parent_resource_version
        ));
    }
    for (id, version) in &saved.resource_versions {
        let now = planned
            .versions
            .get(id)
            .map(String::as_str)
            .unwrap_or("absent");
        if now != version {
            changes.push(format!(
                "{id} changed (resourceVersion {now}, the plan was made at {version})"
            ));
        }
    }
    if saved.facts != planned.facts {
        changes.push("the stored versions of a CRD changed".to_owned());
    }
    if changes.is_empty() {
        return Ok(());
    }
    Err(UserError::new(format!(
        "the cluster changed since the plan was made, so it is not carried out:\n    {}",
        changes.join("\n    ")
    ))
    .with_hint("make a new plan with `kfctl upgrade --to RELEASE --plan-out FILE` and review it")
    .into())
}

/// Refuses a plan with a CRD change that would lose stored objects.
pub fn check_not_blocked(plan: &UpgradePlan) -> Result<()> {
    let blocked = plan.blocked();
    if blocked.is_empty() {
        return Ok(());
    }
    let lines: Vec<String> = blocked
        .iter()
        .map(|c| format!("{}: {}", c.name, c.blocked.as_deref().unwrap_or_default()))
        .collect();
    Err(UserError::new(format!(
        "the upgrade is blocked:\n    {}",
        lines.join("\n    ")
    ))
    .with_hint("migrate the stored objects to a version the new CRD serves (read and write each one, or run kube-storage-version-migrator), then drop the old version from the CRD's `status.storedVersions`")
    .into())
}

/// Refuses a plan that changes immutable fields no migration step recreates, unless objects
/// may be recreated.
pub fn check_immutable(plan: &UpgradePlan) -> Result<()> {
    let unhandled = plan.unhandled_immutable();
    if unhandled.is_empty() {
        return Ok(());
    }
    let lines: Vec<String> = unhandled
        .iter()
        .map(|c| format!("{} `{}`: {}", c.id, c.field, c.reason))
        .collect();
    Err(UserError::new(format!(
        "nothing was written: the upgrade changes fields the API server will not change in place:\n    {}",
        lines.join("\n    ")
    ))
    .with_hint("pass `--force` to delete these objects and create them again (their pods restart, a claim's data goes with it)")
    .into())
}

/// Refuses when other field managers own fields kfctl sets (a dry run finds them).
pub async fn check_no_conflicts(
    cluster: &Cluster,
    install: &Install,
    inventory: &Inventory,
    timeout: std::time::Duration,
) -> Result<()> {
    let found = conflicts(cluster, install, inventory.member_labels(), timeout).await;
    if found.is_empty() {
        return Ok(());
    }
    let lines: Vec<String> = found
        .iter()
        .map(|(id, managers)| format!("{id}: owned by {}", listing(managers)))
        .collect();
    Err(UserError::new(format!(
        "nothing was written: fields kfctl sets are owned by other field managers:\n    {}",
        lines.join("\n    ")
    ))
    .with_hint(
        "pass `--force-conflicts` to take the fields over, or undo the other managers' changes",
    )
    .into())
}

/// What carrying out an upgrade did.
pub struct Upgraded {
    pub done: Installed,
    /// With `--atomic`, after a failure: the revision gone back to and how that went.
    pub rollback: Option<(u32, Result<Installed>)>,
}

/// Applies the planned render as an upgrade revision; when it does not become healthy and
/// `atomic`, goes back to the revision before (marking the failed one rolled back when that
/// succeeds). The caller holds the install's lock.
pub async fn carry_out(
    settings: &ApplySettings,
    cluster: &Cluster,
    planned: &Planned,
    atomic: bool,
    events: Events<'_>,
) -> Result<Upgraded> {
    let name = &planned.name;
    super::migrate::run(
        cluster,
        &planned.parent,
        &planned.plan.migrations,
        settings,
        events,
    )
    .await?;
    let done = apply_install(
        settings,
        cluster,
        &planned.new,
        Some(planned.parent.clone()),
        RevisionAction::Upgrade,
        None,
        events,
    )
    .await?;
    let previous = planned
        .current
        .as_ref()
        .filter(|_| atomic && !settings.dry_run && !done.report.succeeded());
    let Some(previous) = previous else {
        return Ok(Upgraded {
            done,
            rollback: None,
        });
    };
    events.note(format!(
        "rolling back to revision {} (`--atomic`): {}",
        previous.number,
        super::history::failure_line(&done.report, settings.timeout)
    ));
    let back = rollback_to_revision(settings, cluster, name, previous, events).await;
    if let Ok(back) = &back
        && back.report.succeeded()
        && let Some(mut failed) = done.revision.clone()
    {
        failed.result = crate::upgrade::revision::RevisionResult::RolledBack;
        let stored = super::history::read_revisions(cluster, name).await?.1;
        super::history::finish(cluster, &Inventory::new(name), &stored, failed).await?;
    }
    Ok(Upgraded {
        done,
        rollback: Some((previous.number, back)),
    })
}

/// Renders `target` again and applies it as a rollback revision; newer CRDs that hold data
/// are kept.
pub async fn rollback_to_revision(
    settings: &ApplySettings,
    cluster: &Cluster,
    name: &str,
    target: &Revision,
    events: Events<'_>,
) -> Result<Installed> {
    let mut install = render_pin(&target.pin, name, events)?;
    if !target.config_digest.is_empty() && install.config_digest != target.config_digest {
        events.warn(format!(
            "revision {} renders differently now (its `kfctl.yaml` or kfctl's profiles changed since)",
            target.number
        ));
    }
    keep_newer_crds(cluster, &mut install, events).await?;
    let parent = Inventory::new(name)
        .read(cluster)
        .await
        .context("cannot read the install's inventory")?;
    if let Some(parent) = &parent {
        let steps =
            super::migrate::steps_to(&install, &parent.record.release, &parent.record.objects);
        super::migrate::run(cluster, parent, &steps, settings, events).await?;
    }
    let fresh = ApplySettings {
        timeout: settings.timeout,
        ..settings.clone()
    };
    apply_install(
        &fresh,
        cluster,
        &install,
        parent,
        RevisionAction::Rollback,
        Some(target.number),
        events,
    )
    .await
}

/// The revision to go back to: the one asked for, else the last that succeeded before the
/// current one.
pub fn rollback_target(revisions: &[Revision], asked: Option<u32>, name: &str) -> Result<Revision> {
    let kept = || {
        revisions
            .iter()
            .map(|r| r.number.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    };
    if let Some(n) = asked {
        return revisions
            .iter()
            .find(|r| r.number == n)
            .cloned()
            .ok_or_else(|| {
                UserError::new(format!("install `{name}` has no revision {n}"))
                    .with_hint(format!(
                        "the record keeps revisions {}; `kfctl history` lists them",
                        kept()
                    ))
                    .into()
            });
    }
    let current = revision::current(revisions).map(|r| r.number);
    revisions
        .iter()
        .rev()
        .filter(|r| r.result == RevisionResult::Succeeded)
        .find(|r| Some(r.number) != current)
        .cloned()
        .ok_or_else(|| {
            UserError::new(format!(
                "install `{name}` has no earlier revision that succeeded to go back to"
            ))
            .with_hint("`kfctl history` lists the revisions; pick one with `--to-revision N`")
            .into()
        })
}

/// The plan of a rollback to `install` (the revision rendered again) from what `parent` records;
/// `purge` as the apply's.
pub async fn plan_rollback(
    cluster: &Cluster,
    parent: &Parent,
    install: &Install,
    purge: bool,
) -> Result<UpgradePlan> {
    let facts = live_facts(cluster, install, &parent.record.objects).await?;
    let mut rollback_plan = plan::plan(
        None,
        &parent.record.objects,
        &install.resources,
        &|res| install.digest(res),
        &facts,
    );
    super::migrate::add_to_plan(
        &mut rollback_plan,
        install,
        &parent.record.release,
        &parent.record.objects,
        purge,
    );
    Ok(rollback_plan)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::upgrade::revision::RevisionResult;
    use crate::upgrade::revision::tests::sample;

    fn revision(number: u32, result: RevisionResult) -> Revision {
        Revision {
            result,
            ..sample(number)
        }
    }

    #[test]
    fn the_default_target_is_the_last_success_before_the_current_one() {
        let revisions = vec![
            revision(1, RevisionResult::Succeeded),
            revision(2, RevisionResult::Failed),
            revision(3, RevisionResult::Succeeded),
            revision(4, RevisionResult::RolledBack),
        ];
        assert_eq!(rollback_target(&revisions, None, "kf").unwrap().number, 1);
        assert_eq!(
            rollback_target(&revisions, Some(2), "kf").unwrap().number,
            2
        );
        let missing = rollback_target(&revisions, Some(9), "kf").unwrap_err();
        assert!(missing.to_string().contains("no revision 9"), "{missing}");
        assert!(rollback_target(&revisions[..1], None, "kf").is_err());
    }
}
