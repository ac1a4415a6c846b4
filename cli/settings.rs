//! Settings: the arguments merged with the environment (and, for commands that read one,
//! `kfctl.yaml`). Flags win over `KFCTL_*` variables, which win over the file and the defaults.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use std::time::Duration;

use crate::args::{
    ApplyArgs, ApplyRunArgs, BuildArgs, ClusterArgs, ColorChoice, DeleteArgs, DiffArgs, GlobalArgs,
    HistoryArgs, ImagesArgs, InitArgs, InputArgs, InstallInputArgs, ListArgs, ListFormat,
    OutputFormat, ReleaseArg, RenderArgs, RollbackArgs, RootArg, SourceArgs, SourcesCommand,
    StatusArgs, TargetArgs, UpgradeArgs, UpgradeJobArgs,
};
use crate::profile::config::DriftIgnore;
use crate::profile::{self, KfctlConfig, ProfileError, Request, Where};
use crate::render::RealFs;

/// The environment variables kfctl reads, besides `NO_COLOR` and `RUST_LOG`.
pub const ENV_PLATFORM: &str = "KFCTL_PLATFORM";
pub const ENV_CONFIG: &str = "KFCTL_CONFIG";
pub const ENV_RELEASE: &str = "KFCTL_RELEASE";
pub const ENV_ROOT: &str = "KFCTL_ROOT";
pub const ENV_CATALOG: &str = "KFCTL_CATALOG";

/// Reads the environment: a variable that is unset or empty is no setting.
pub trait Env {
    fn var(&self, name: &str) -> Option<String>;
}

/// The process environment.
pub struct ProcessEnv;

impl Env for ProcessEnv {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok().filter(|v| !v.is_empty())
    }
}

/// Settings every command shares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GlobalSettings {
    pub color: bool,
    pub quiet: bool,
    pub verbose: u8,
    pub show_settings: bool,
}

impl GlobalSettings {
    pub fn resolve(args: &GlobalArgs) -> Self {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        let color = match args.color.unwrap_or(ColorChoice::Auto) {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => !no_color && std::io::stderr().is_terminal(),
        };
        GlobalSettings {
            color,
            quiet: args.quiet,
            verbose: args.verbose,
            show_settings: args.show_settings,
        }
    }
}

/// A kustomization directory, or a platform profile to resolve.
#[derive(Debug, Clone)]
pub enum BuildInput {
    Dir(PathBuf),
    Profile(Box<Request>),
}

impl BuildInput {
    /// `-k DIR` wins; otherwise a platform or `kfctl.yaml` (flag or environment) selects a
    /// profile; otherwise `None`.
    pub fn resolve(args: &InputArgs, env: &dyn Env) -> Result<Option<Self>, ProfileError> {
        if let Some(dir) = &args.kustomize {
            return Ok(Some(BuildInput::Dir(dir.clone())));
        }
        let config_path = args
            .config
            .clone()
            .or_else(|| env.var(ENV_CONFIG).map(PathBuf::from));
        let platform = flag_or_env(args.platform.as_deref(), "--platform", env, ENV_PLATFORM);
        if config_path.is_none() && platform.is_none() {
            return Ok(None);
        }
        let config = config_path
            .map(|path| KfctlConfig::load(&RealFs, &absolute(&path)))
            .transpose()?;
        Ok(Some(BuildInput::Profile(Box::new(profile_request(
            platform, args, config, env,
        )))))
    }
}

/// What `build`, `images` and `sources` render, and how they reach its remote sources.
#[derive(Debug, Clone)]
pub struct RenderSettings {
    pub input: BuildInput,
    pub sources: SourceSettings,
}

impl RenderSettings {
    /// A directory given as `DIR` or `-k DIR` wins; otherwise a platform or `kfctl.yaml` (flag
    /// or environment) selects a profile build; otherwise the current directory.
    pub fn resolve(args: &RenderArgs, env: &dyn Env) -> Result<Self, ProfileError> {
        let input = match &args.dir {
            Some(dir) => BuildInput::Dir(dir.clone()),
            None => BuildInput::resolve(&args.input, env)?
                .unwrap_or_else(|| BuildInput::Dir(PathBuf::from("."))),
        };
        Ok(RenderSettings {
            input,
            sources: SourceSettings::resolve(&args.sources, env),
        })
    }
}

/// What `kfctl build` renders and where it writes.
#[derive(Debug, Clone)]
pub struct BuildSettings {
    pub render: RenderSettings,
    pub output: OutputFormat,
    pub output_dir: Option<PathBuf>,
}

impl BuildSettings {
    pub fn resolve(args: &BuildArgs, env: &dyn Env) -> Result<Self, ProfileError> {
        Ok(BuildSettings {
            render: RenderSettings::resolve(&args.render, env)?,
            output: args.output,
            output_dir: args.output_dir.clone(),
        })
    }
}

/// What `kfctl images` lists, and how.
#[derive(Debug, Clone)]
pub struct ImagesSettings {
    pub render: RenderSettings,
    pub output: OutputFormat,
}

impl ImagesSettings {
    pub fn resolve(args: &ImagesArgs, env: &dyn Env) -> Result<Self, ProfileError> {
        Ok(ImagesSettings {
            render: RenderSettings::resolve(&args.render, env)?,
            output: args.output,
        })
    }
}

/// What `kfctl sources pull|update|mirror` fetches, and where it copies it.
#[derive(Debug, Clone)]
pub struct SourcesSettings {
    pub render: RenderSettings,
    /// Fetch again and re-pin (`update`).
    pub update: bool,
    /// The directory `mirror` writes.
    pub mirror: Option<PathBuf>,
}

impl SourcesSettings {
    pub fn resolve(command: &SourcesCommand, env: &dyn Env) -> Result<Self, ProfileError> {
        let (render, update, mirror) = match command {
            SourcesCommand::Pull(a) => (&a.render, false, None),
            SourcesCommand::Update(a) => (&a.render, true, None),
            SourcesCommand::Mirror(a) => (&a.render, false, Some(a.to.clone())),
        };
        Ok(SourcesSettings {
            render: RenderSettings::resolve(render, env)?,
            update,
            mirror,
        })
    }
}

/// What `kfctl apply` installs, where, and how.
#[derive(Debug, Clone)]
pub struct ApplySettings {
    /// What to apply (`input` is `None` when nothing says), its name, the cluster.
    pub install: InstallSettings,
    pub dry_run: bool,
    pub yes: bool,
    pub timeout: Duration,
    pub force_conflicts: bool,
    pub take_over: bool,
    pub lock_timeout: Duration,
    /// Recreate objects whose change touches an immutable field.
    pub force: bool,
    pub output: ListFormat,
    /// `None` when a confirmation may be asked; otherwise why not.
    pub no_prompt_reason: Option<String>,
    /// Delete the install's objects the render no longer has, once it is healthy.
    pub prune: bool,
    /// When pruning, PVCs, CRDs and namespaces in use go too.
    pub purge: bool,
}

impl ApplySettings {
    /// `-k DIR` wins; otherwise a platform or `kfctl.yaml` (flag or environment).
    pub fn resolve(args: &ApplyArgs, env: &dyn Env) -> Result<Self, ProfileError> {
        let install = InstallSettings::resolve(&args.install, env)?;
        Ok(ApplySettings {
            take_over: args.take_over,
            lock_timeout: args.lock_timeout,
            force: args.force,
            prune: !args.no_prune,
            purge: args.purge,
            ..ApplySettings::new(install, &args.run, args.output)
        })
    }

    /// An apply of `install` run as `run` says, with the defaults of the flags only `kfctl
    /// apply` takes.
    fn new(install: InstallSettings, run: &ApplyRunArgs, output: ListFormat) -> Self {
        ApplySettings {
            install,
            dry_run: run.dry_run,
            yes: run.yes,
            timeout: run.timeout,
            force_conflicts: run.force_conflicts,
            take_over: false,
            lock_timeout: Duration::from_secs(20),
            force: false,
            output,
            no_prompt_reason: no_prompt_reason(),
            prune: true,
            purge: false,
        }
    }
}

/// Which cluster to talk to: `--kubeconfig` and `--context`; `None` for the kubeconfig's
/// defaults.
#[derive(Debug, Clone)]
pub struct ClusterSettings {
    pub kubeconfig: Option<PathBuf>,
    pub context: Option<String>,
}

impl ClusterSettings {
    pub fn resolve(args: &ClusterArgs) -> Self {
        ClusterSettings {
            kubeconfig: args.kubeconfig.clone(),
            context: args.context.clone(),
        }
    }
}

/// What the commands that render an install share: the input (`None` when none was given),
/// the install's name when given (the command picks the default by input), the cluster, and
/// how sources are reached.
#[derive(Debug, Clone)]
pub struct InstallSettings {
    pub input: Option<BuildInput>,
    pub name: Option<String>,
    pub cluster: ClusterSettings,
    pub sources: SourceSettings,
}

impl InstallSettings {
    fn resolve(args: &InstallInputArgs, env: &dyn Env) -> Result<Self, ProfileError> {
        Ok(InstallSettings {
            input: BuildInput::resolve(&args.input, env)?,
            name: args.name.clone(),
            cluster: ClusterSettings::resolve(&args.cluster),
            sources: SourceSettings::resolve(&args.sources, env),
        })
    }

    /// The install's name: the one given, else that of the kustomization directory it is
    /// rendered from, else `kubeflow` (a platform's or `kfctl.yaml`'s install).
    pub fn install_name(&self) -> String {
        match (&self.name, &self.input) {
            (Some(name), _) => name.clone(),
            (None, Some(BuildInput::Dir(dir))) => default_name_of(dir),
            (None, _) => "kubeflow".to_owned(),
        }
    }

    /// `spec.drift.ignore` of the `kfctl.yaml` given; none for another input.
    pub fn drift_ignore(&self) -> &[DriftIgnore] {
        match &self.input {
            Some(BuildInput::Profile(request)) => request
                .config
                .as_ref()
                .map_or(&[], |c| c.drift_ignore.as_slice()),
            _ => &[],
        }
    }
}

/// What `kfctl upgrade` does: an apply with a target release and a plan.
#[derive(Debug, Clone)]
pub struct UpgradeSettings {
    /// The apply's settings; `input` is `None` when the install's record says what to render.
    pub apply: ApplySettings,
    pub to: Option<String>,
    pub from_record: RecordRenderSettings,
    pub plan_out: Option<PathBuf>,
    pub plan: Option<PathBuf>,
    pub atomic: bool,
    pub exit_code: bool,
}

impl UpgradeSettings {
    pub fn resolve(args: &UpgradeArgs, env: &dyn Env) -> Result<Self, ProfileError> {
        let mut apply = ApplySettings::resolve(&args.apply, env)?;
        if let (Some(to), Some(BuildInput::Profile(request))) = (&args.to, &mut apply.install.input)
        {
            request.release = Some((to.clone(), Where::Flag(format!("--to {to}"))));
        }
        Ok(UpgradeSettings {
            apply,
            to: args.to.clone(),
            from_record: RecordRenderSettings {
                root: root_dir(&args.apply.install.input.root, env),
                catalog: catalog_file(&args.apply.install.input.root, env),
                sets: args.apply.install.input.set.clone(),
                sources: args.apply.install.input.source.clone(),
            },
            plan_out: args.plan_out.clone(),
            plan: args.plan.clone(),
            atomic: args.atomic,
            exit_code: args.exit_code,
        })
    }
}

/// What an upgrade renders its new release with when the install's record says what to
/// render: kfctl's root, the `--set` given (added to the record's) and the `--source` given
/// (instead of the record's).
#[derive(Debug, Clone)]
pub struct RecordRenderSettings {
    pub root: PathBuf,
    /// `--catalog` given now, instead of the record's.
    pub catalog: Option<PathBuf>,
    pub sets: Vec<String>,
    pub sources: Vec<String>,
}

/// What `kfctl rollback` does: an apply of a recorded revision.
#[derive(Debug, Clone)]
pub struct RollbackSettings {
    pub apply: ApplySettings,
    pub name: String,
    pub to_revision: Option<u32>,
}

impl RollbackSettings {
    pub fn resolve(args: &RollbackArgs, env: &dyn Env) -> Result<Self, ProfileError> {
        let name = InstallTarget::resolve(&args.target, env)?.name();
        let install = InstallSettings {
            input: None,
            name: Some(name.clone()),
            cluster: ClusterSettings::resolve(&args.cluster),
            // What a record pins is rendered; no flag names its sources.
            sources: SourceSettings::resolve(&SourceArgs::default(), env),
        };
        Ok(RollbackSettings {
            apply: ApplySettings::new(install, &args.run, args.output),
            name,
            to_revision: args.to_revision,
        })
    }
}

/// Which install `kfctl history` lists, from where.
#[derive(Debug, Clone)]
pub struct HistorySettings {
    pub name: String,
    pub cluster: ClusterSettings,
    pub output: ListFormat,
}

impl HistorySettings {
    pub fn resolve(args: &HistoryArgs, env: &dyn Env) -> Result<Self, ProfileError> {
        Ok(HistorySettings {
            name: InstallTarget::resolve(&args.target, env)?.name(),
            cluster: ClusterSettings::resolve(&args.cluster),
            output: args.output,
        })
    }
}

/// What `kfctl generate upgrade-job` writes.
#[derive(Debug, Clone)]
pub struct UpgradeJobSettings {
    pub to: String,
    pub schedule: Option<String>,
    pub image: String,
    pub name: String,
    pub namespace: String,
    pub timeout: String,
    pub cluster: ClusterSettings,
}

impl UpgradeJobSettings {
    pub fn resolve(args: &UpgradeJobArgs, env: &dyn Env) -> Result<Self, ProfileError> {
        Ok(UpgradeJobSettings {
            to: args.to.clone(),
            schedule: args.schedule.clone(),
            image: args.image.clone(),
            name: InstallTarget::resolve(&args.target, env)?.name(),
            namespace: args.namespace.clone(),
            timeout: args.timeout.clone(),
            cluster: ClusterSettings::resolve(&args.cluster),
        })
    }
}

/// The directory's own name, made a valid install name.
pub fn default_name_of(dir: &Path) -> String {
    let absolute = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
    let base = absolute
        .file_name()
        .map(|n| n.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    let cleaned: String = base
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    let trimmed = cleaned.trim_matches('-');
    if trimmed.is_empty() {
        "default".to_owned()
    } else {
        trimmed.chars().take(50).collect()
    }
}
/// Why a confirmation cannot be asked (stdin or stderr is not a terminal), or `None`.
fn no_prompt_reason() -> Option<String> {
    if !std::io::stdin().is_terminal() {
        Some("stdin is not a terminal".to_owned())
    } else if !std::io::stderr().is_terminal() {
        Some("stderr is not a terminal".to_owned())
    } else {
        None
    }
}

/// How a command that does not render names the install it acts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InstallTarget {
    /// `--name`.
    Name(String),
    /// `-k DIR`: the name `kfctl apply -k DIR` gives.
    Dir(PathBuf),
    /// `-p`, `-f` or nothing: the platform default, `kubeflow`; with the platform the install
    /// must have been recorded with, when one was given.
    Platform(Option<String>),
}

impl InstallTarget {
    /// `--name` wins; otherwise the name apply would give for `-k`, `-p` or `-f` (flag or
    /// environment).
    pub fn resolve(args: &TargetArgs, env: &dyn Env) -> Result<Self, ProfileError> {
        Ok(match (&args.name, &args.kustomize) {
            (Some(name), _) => InstallTarget::Name(name.clone()),
            (None, Some(dir)) => InstallTarget::Dir(dir.clone()),
            (None, None) => {
                let config = args
                    .config
                    .clone()
                    .or_else(|| env.var(ENV_CONFIG).map(PathBuf::from))
                    .map(|path| KfctlConfig::load(&RealFs, &absolute(&path)))
                    .transpose()?;
                let platform =
                    flag_or_env(args.platform.as_deref(), "--platform", env, ENV_PLATFORM)
                        .map(|(p, _)| p)
                        .or_else(|| {
                            config
                                .as_ref()
                                .and_then(|c| c.platform.as_ref().map(|l| l.value.clone()))
                        });
                InstallTarget::Platform(platform)
            }
        })
    }

    /// The install's name, as `kfctl apply` gives it; `name_of_dir` names a directory's.
    pub fn name(&self) -> String {
        match self {
            InstallTarget::Name(name) => name.clone(),
            InstallTarget::Dir(dir) => default_name_of(dir),
            InstallTarget::Platform(_) => "kubeflow".to_owned(),
        }
    }
}

/// What `kfctl delete` removes, where, and how.
#[derive(Debug, Clone)]
pub struct DeleteSettings {
    pub target: InstallTarget,
    pub cluster: ClusterSettings,
    pub purge: bool,
    pub dry_run: bool,
    pub yes: bool,
    pub timeout: Duration,
    pub lock_timeout: Duration,
    pub output: ListFormat,
    /// `None` when a confirmation may be asked; otherwise why not.
    pub no_prompt_reason: Option<String>,
}

impl DeleteSettings {
    pub fn resolve(args: &DeleteArgs, env: &dyn Env) -> Result<Self, ProfileError> {
        let target = InstallTarget::resolve(&args.target, env)?;
        Ok(DeleteSettings {
            target,
            cluster: ClusterSettings::resolve(&args.cluster),
            purge: args.purge,
            dry_run: args.dry_run,
            yes: args.yes,
            timeout: args.timeout,
            lock_timeout: args.lock_timeout,
            output: args.output,
            no_prompt_reason: no_prompt_reason(),
        })
    }
}

/// What `kfctl diff` compares, with what, and what it does with the result.
#[derive(Debug, Clone)]
pub struct DiffSettings {
    pub install: InstallSettings,
    /// Exit 2 on changes: `--exit-code`, else on when stdin is not a terminal.
    pub exit_code: bool,
    pub fix: bool,
    pub yes: bool,
    pub timeout: Duration,
    pub output: ListFormat,
    /// `None` when a confirmation may be asked; otherwise why not.
    pub no_prompt_reason: Option<String>,
}

impl DiffSettings {
    pub fn resolve(args: &DiffArgs, env: &dyn Env) -> Result<Self, ProfileError> {
        let interactive = std::io::stdin().is_terminal();
        Ok(DiffSettings {
            install: InstallSettings::resolve(&args.install, env)?,
            exit_code: args.exit_code.unwrap_or(!interactive),
            fix: args.fix,
            yes: args.yes,
            timeout: args.timeout,
            output: args.output,
            no_prompt_reason: no_prompt_reason(),
        })
    }
}

/// What `kfctl status` shows.
#[derive(Debug, Clone)]
pub struct StatusSettings {
    /// The install; its render, when given, lets drift name fields.
    pub install: InstallSettings,
    pub watch: bool,
    pub interval: Duration,
    pub exit_code: bool,
    pub output: ListFormat,
}

impl StatusSettings {
    pub fn resolve(args: &StatusArgs, env: &dyn Env) -> Result<Self, ProfileError> {
        Ok(StatusSettings {
            install: InstallSettings::resolve(&args.install, env)?,
            watch: args.watch,
            interval: args.interval,
            exit_code: args.exit_code,
            output: args.output,
        })
    }
}

/// What the listing commands read: kfctl's root and, for `components`, a release.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogSettings {
    pub root: PathBuf,
    /// A user's catalog laid over the built-in one; absolute.
    pub catalog: Option<PathBuf>,
    pub release: Option<(String, Where)>,
    /// How a listing prints.
    pub output: ListFormat,
}

impl CatalogSettings {
    pub fn resolve(root: &RootArg, release: Option<&ReleaseArg>, env: &dyn Env) -> Self {
        CatalogSettings {
            root: root_dir(root, env),
            catalog: catalog_file(root, env),
            release: release
                .and_then(|r| flag_or_env(r.release.as_deref(), "--release", env, ENV_RELEASE)),
            output: ListFormat::Text,
        }
    }

    /// The settings of `platforms`, `releases` and (with its release) `components`.
    pub fn listing(args: &ListArgs, release: Option<&ReleaseArg>, env: &dyn Env) -> Self {
        CatalogSettings {
            output: args.output,
            ..CatalogSettings::resolve(&args.root, release, env)
        }
    }
}

/// Where `kfctl init` reads the admin password from, when not asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PasswordSource {
    Env(String),
    File(PathBuf),
}

/// The answers `kfctl init` was given, and whether it may ask for the rest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InitSettings {
    pub platform: Option<String>,
    pub release: Option<String>,
    pub components: Option<Vec<String>>,
    pub set: Vec<String>,
    pub admin_email: Option<String>,
    pub admin_password: Option<PasswordSource>,
    pub gpu: Option<bool>,
    pub storage_class: Option<String>,
    pub output: PathBuf,
    pub force: bool,
    /// Where the catalog and the platform profiles are.
    pub root: PathBuf,
    /// A user's catalog laid over the built-in one; absolute.
    pub catalog: Option<PathBuf>,
    /// `None` when prompts may be shown; otherwise why not.
    pub no_prompt_reason: Option<String>,
}

impl InitSettings {
    pub fn resolve(args: &InitArgs) -> Self {
        let admin_password = match (&args.admin_password_env, &args.admin_password_file) {
            (Some(var), _) => Some(PasswordSource::Env(var.clone())),
            (None, Some(file)) => Some(PasswordSource::File(file.clone())),
            (None, None) => None,
        };
        let gpu = match (args.gpu, args.no_gpu) {
            (true, _) => Some(true),
            (_, true) => Some(false),
            _ => None,
        };
        // Prompts read stdin and draw on stderr: both must be a terminal.
        let no_prompt_reason = if args.yes {
            Some("`--yes` asks nothing".to_owned())
        } else {
            no_prompt_reason()
        };
        InitSettings {
            platform: args.platform.clone(),
            release: args.release.clone(),
            components: args.components.clone(),
            set: args.set.clone(),
            admin_email: args.admin_email.clone(),
            admin_password,
            gpu,
            storage_class: args.storage_class.clone(),
            output: args.write.output.clone(),
            force: args.write.force,
            root: root_dir(&args.write.root, &ProcessEnv),
            catalog: catalog_file(&args.write.root, &ProcessEnv),
            no_prompt_reason,
        }
    }
}

fn profile_request(
    platform: Option<(String, Where)>,
    args: &InputArgs,
    config: Option<KfctlConfig>,
    env: &dyn Env,
) -> Request {
    let from_file = |v: &Option<profile::config::Located<String>>| {
        v.as_ref()
            .map(|l| (l.value.clone(), Where::File(l.at.clone())))
    };
    let platform = platform.or_else(|| config.as_ref().and_then(|c| from_file(&c.platform)));
    let release = flag_or_env(
        args.release.release.as_deref(),
        "--release",
        env,
        ENV_RELEASE,
    )
    .or_else(|| config.as_ref().and_then(|c| from_file(&c.release)));
    Request {
        root: root_dir(&args.root, env),
        catalog: catalog_file(&args.root, env),
        cwd: current_dir(),
        platform,
        release,
        config,
        sets: args.set.clone(),
        sources: args.source.clone(),
    }
}

/// A flag's value, else the environment variable's, with where it came from.
fn flag_or_env(
    flag: Option<&str>,
    flag_name: &str,
    env: &dyn Env,
    var: &'static str,
) -> Option<(String, Where)> {
    flag.map(|v| (v.to_owned(), Where::Flag(format!("{flag_name} {v}"))))
        .or_else(|| env.var(var).map(|v| (v, Where::Env(var))))
}

fn root_dir(root: &RootArg, env: &dyn Env) -> PathBuf {
    root.root
        .clone()
        .or_else(|| env.var(ENV_ROOT).map(PathBuf::from))
        .map(|p| absolute(&p))
        .unwrap_or_else(|| profile::resolve::default_root().to_path_buf())
}

/// `--catalog`, else `KFCTL_CATALOG`, made absolute.
fn catalog_file(root: &RootArg, env: &dyn Env) -> Option<PathBuf> {
    root.catalog
        .clone()
        .or_else(|| env.var(ENV_CATALOG).map(PathBuf::from))
        .map(|p| absolute(&p))
}

fn current_dir() -> PathBuf {
    std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/"))
}

fn absolute(path: &Path) -> PathBuf {
    crate::render::fs::clean(&current_dir().join(path))
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use clap::Parser;

    use super::*;
    use crate::args::{Args, Command};

    struct FakeEnv(HashMap<&'static str, &'static str>);

    impl Env for FakeEnv {
        fn var(&self, name: &str) -> Option<String> {
            self.0.get(name).map(|v| v.to_string())
        }
    }

    fn build(argv: &[&str], env: &[(&'static str, &'static str)]) -> BuildSettings {
        let args = Args::parse_from(argv);
        let Command::Build(b) = args.command else {
            panic!("not a build")
        };
        BuildSettings::resolve(&b, &FakeEnv(env.iter().copied().collect())).unwrap()
    }

    fn request(s: &BuildSettings) -> &Request {
        match &s.render.input {
            BuildInput::Profile(r) => r,
            BuildInput::Dir(d) => panic!("a directory build of {}", d.display()),
        }
    }

    #[test]
    fn flag_wins_over_env_which_wins_over_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("kfctl.yaml");
        std::fs::write(
            &file,
            "apiVersion: kfctl.dev/v1alpha1\nkind: KfctlConfig\nspec:\n  platform: aws\n  release: \"1.10.2\"\n",
        )
        .unwrap();
        let f = file.to_str().unwrap();
        let from_file = build(&["kfctl", "build", "-f", f], &[]);
        let r = request(&from_file);
        assert_eq!(r.platform.as_ref().unwrap().0, "aws");
        assert!(matches!(r.release.as_ref().unwrap().1, Where::File(_)));

        let env = [(ENV_PLATFORM, "gcp"), (ENV_RELEASE, "1.11.0")];
        let from_env = build(&["kfctl", "build", "-f", f], &env);
        assert_eq!(request(&from_env).platform.as_ref().unwrap().0, "gcp");
        assert_eq!(request(&from_env).release.as_ref().unwrap().0, "1.11.0");

        let from_flag = build(
            &[
                "kfctl",
                "build",
                "-f",
                f,
                "-p",
                "azure",
                "--release",
                "latest",
            ],
            &env,
        );
        assert_eq!(request(&from_flag).platform.as_ref().unwrap().0, "azure");
        assert_eq!(request(&from_flag).release.as_ref().unwrap().0, "latest");
    }

    #[test]
    fn delete_names_the_install_as_apply_does() {
        let resolve = |argv: &[&str], env: &[(&'static str, &'static str)]| {
            let Command::Delete(d) = Args::parse_from(argv).command else {
                panic!("not a delete")
            };
            DeleteSettings::resolve(&d, &FakeEnv(env.iter().copied().collect()))
                .unwrap()
                .target
        };
        assert_eq!(
            resolve(&["kfctl", "delete", "--name", "demo", "-k", "dir"], &[]),
            InstallTarget::Name("demo".into())
        );
        assert_eq!(
            resolve(&["kfctl", "delete", "-k", "some/dir"], &[]),
            InstallTarget::Dir("some/dir".into())
        );
        assert_eq!(
            resolve(&["kfctl", "delete"], &[(ENV_PLATFORM, "gcp")]),
            InstallTarget::Platform(Some("gcp".into()))
        );
        assert_eq!(
            resolve(&["kfctl", "delete"], &[]),
            InstallTarget::Platform(None)
        );
    }

    #[test]
    fn download_timeouts_and_the_unpack_bound_come_from_the_environment() {
        let s = build(
            &["kfctl", "build"],
            &[
                ("KFCTL_READ_TIMEOUT", "1.5"),
                ("KFCTL_CONNECT_TIMEOUT", "1e30"),
                ("KFCTL_MAX_UNPACK_BYTES", "1048576"),
            ],
        );
        assert_eq!(s.render.sources.read_timeout, Duration::from_millis(1500));
        assert_eq!(
            s.render.sources.connect_timeout,
            crate::source::fetch::DEFAULT_CONNECT_TIMEOUT
        );
        assert_eq!(s.render.sources.max_unpack_bytes, 1 << 20);
        let s = build(&["kfctl", "build"], &[("KFCTL_READ_TIMEOUT", "soon")]);
        assert_eq!(
            s.render.sources.read_timeout,
            crate::source::fetch::DEFAULT_READ_TIMEOUT
        );
    }

    #[test]
    fn a_directory_argument_wins_over_a_platform_from_the_environment() {
        let s = build(&["kfctl", "build", "some/dir"], &[(ENV_PLATFORM, "gcp")]);
        assert!(matches!(s.render.input, BuildInput::Dir(ref d) if d == Path::new("some/dir")));
        let s = build(&["kfctl", "build"], &[(ENV_PLATFORM, "gcp")]);
        assert_eq!(
            request(&s).platform.as_ref().unwrap().1,
            Where::Env(ENV_PLATFORM)
        );
        let s = build(&["kfctl", "build"], &[]);
        assert!(matches!(s.render.input, BuildInput::Dir(ref d) if d == Path::new(".")));
    }
}

/// Where remote sources come from and where images are pulled from.
#[derive(Debug, Clone)]
pub struct SourceSettings {
    pub cache_dir: PathBuf,
    /// `--offline` or `KFCTL_OFFLINE=1`.
    pub offline: bool,
    /// `--registry-mirror` or `KFCTL_REGISTRY_MIRROR`.
    pub registry_mirror: Option<String>,
    /// `KFCTL_GITHUB_URL`, for a GitHub mirror; default `https://github.com`.
    pub github_url: String,
    /// `KFCTL_CONNECT_TIMEOUT` (seconds); default 10.
    pub connect_timeout: Duration,
    /// `KFCTL_READ_TIMEOUT` (seconds): how long a download may go without a byte; default 30.
    pub read_timeout: Duration,
    /// `KFCTL_MAX_UNPACK_BYTES`: what one archive may unpack to; default 1 GiB.
    pub max_unpack_bytes: u64,
}

impl SourceSettings {
    /// From the environment alone (`KFCTL_OFFLINE`, `KFCTL_REGISTRY_MIRROR`, ...): for renders
    /// of what a record pins, which no flag names.
    pub fn from_env() -> Self {
        SourceSettings::resolve(&SourceArgs::default(), &ProcessEnv)
    }

    pub fn resolve(args: &SourceArgs, env: &dyn Env) -> Self {
        let offline_env = env
            .var("KFCTL_OFFLINE")
            .is_some_and(|v| !matches!(v.as_str(), "0" | "false" | "no"));
        SourceSettings {
            cache_dir: crate::source::default_cache_dir(|name| env.var(name)),
            offline: args.offline || offline_env,
            registry_mirror: args
                .registry_mirror
                .clone()
                .or_else(|| env.var("KFCTL_REGISTRY_MIRROR")),
            github_url: env
                .var("KFCTL_GITHUB_URL")
                .unwrap_or_else(|| "https://github.com".to_owned()),
            connect_timeout: env_seconds(env, "KFCTL_CONNECT_TIMEOUT")
                .unwrap_or(crate::source::fetch::DEFAULT_CONNECT_TIMEOUT),
            read_timeout: env_seconds(env, "KFCTL_READ_TIMEOUT")
                .unwrap_or(crate::source::fetch::DEFAULT_READ_TIMEOUT),
            max_unpack_bytes: env_number(env, "KFCTL_MAX_UNPACK_BYTES")
                .map_or(crate::source::archive::DEFAULT_MAX_TOTAL_BYTES, |n| {
                    n as u64
                }),
        }
    }
}

/// A duration in seconds from the environment, as [`env_number`].
fn env_seconds(env: &dyn Env, name: &str) -> Option<Duration> {
    env_number(env, name).and_then(|n| Duration::try_from_secs_f64(n).ok())
}

/// A positive number from the environment; another value is ignored with a warning, as these
/// only tune limits.
fn env_number(env: &dyn Env, name: &str) -> Option<f64> {
    let text = env.var(name)?;
    match text.trim().parse::<f64>() {
        Ok(n) if n.is_finite() && n > 0.0 => Some(n),
        _ => {
            tracing::warn!("ignoring `{name}={text}`: expected a positive number");
            None
        }
    }
}
