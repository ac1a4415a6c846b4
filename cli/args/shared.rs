//! Arguments several commands share: what to render, which cluster, how sources are reached,
//! output formats and durations.

use std::path::PathBuf;

use clap::ValueEnum;

/// How remote sources and images are reached.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct SourceArgs {
    /// Never use the network; fail naming any remote source missing from the cache
    ///
    /// Remote sources must already be in the cache (`kfctl sources pull`), or in a directory
    /// written by `kfctl sources mirror` that `KFCTL_CACHE_DIR` points at.
    /// Environment: `KFCTL_OFFLINE=1`.
    #[arg(long)]
    pub offline: bool,

    /// Rewrite every image reference to this registry prefix
    ///
    /// `--registry-mirror registry.local:5000/kf` turns `docker.io/library/mysql:8` and `mysql:8`
    /// into `registry.local:5000/kf/library/mysql:8`, and `gcr.io/ml-pipeline/api:2` into
    /// `registry.local:5000/kf/ml-pipeline/api:2`; tags and digests are kept.
    /// Environment: `KFCTL_REGISTRY_MIRROR`.
    #[arg(long, value_name = "PREFIX")]
    pub registry_mirror: Option<String>,
}

/// What to render, the same for every command that renders: `-k DIR`, `-p PLATFORM` or
/// `-f kfctl.yaml`, with the flags that tune a platform render.
#[derive(Debug, clap::Args)]
pub struct InputArgs {
    /// Render a kustomization directory
    ///
    /// A directory holding `kustomization.yaml`, `kustomization.yml` or `Kustomization`,
    /// rendered as `kfctl build DIR` renders it.
    #[arg(short = 'k', long = "kustomize", value_name = "DIR", conflicts_with_all = ["platform", "config", "set", "release", "source"])]
    pub kustomize: Option<PathBuf>,

    /// Render a platform's components
    ///
    /// One of the platforms `kfctl platforms` lists (`local`, `gcp`, `aws`, `azure`, `onprem`).
    /// Wins over `spec.platform` in `kfctl.yaml`. Environment: `KFCTL_PLATFORM`.
    #[arg(short, long, value_name = "PLATFORM")]
    pub platform: Option<String>,

    /// Render what a `kfctl.yaml` describes
    ///
    /// Its platform, release, components, sources, parameters and drift rules
    /// (`spec.drift.ignore`); flags win over it. Environment: `KFCTL_CONFIG`.
    #[arg(short = 'f', long = "config", value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Set a platform parameter (repeatable)
    ///
    /// `--set project=my-proj`, or `--set <component>.<name>=VALUE` for a component's
    /// parameter. Wins over `kfctl.yaml` and the profile's defaults. The value is checked
    /// against the parameter's type and pattern. No environment variable.
    #[arg(long, value_name = "NAME=VALUE")]
    pub set: Vec<String>,

    #[command(flatten)]
    pub release: ReleaseArg,

    /// Use another location for an upstream source (repeatable)
    ///
    /// `--source kubeflow-manifests=PATH`: a directory holding the release's manifests, relative
    /// to the current directory; or `NAME=URL#sha256=HEX`, an archive fetched, verified and
    /// cached like a remote base. Wins over `spec.sources` in `kfctl.yaml`; default: the
    /// location the catalog names. No environment variable.
    #[arg(long, value_name = "NAME=PATH")]
    pub source: Vec<String>,

    #[command(flatten)]
    pub root: RootArg,
}

/// Which install a command that does not render acts on: by its name, or by what `kfctl apply`
/// was given (`-k`, `-p`, `-f`), as the commands that render name it.
#[derive(Debug, clap::Args)]
pub struct TargetArgs {
    /// The install's name
    ///
    /// Names the inventory, ConfigMap `kfctl-<name>` in `kube-system`. Default: the name
    /// `kfctl apply` gives with the same `-p`, `-f` or `-k`: `kubeflow`, or the directory's name
    /// for `-k`.
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,

    /// Name the install by the kustomization directory it was applied from
    ///
    /// Only the directory's name is used; nothing is rendered.
    #[arg(short = 'k', long = "kustomize", value_name = "DIR", conflicts_with_all = ["platform", "config"])]
    pub kustomize: Option<PathBuf>,

    /// Name the install by its platform
    ///
    /// The install `kfctl apply -p PLATFORM` made, `kubeflow`; `kfctl delete` also checks that it
    /// was recorded with this platform. Environment: `KFCTL_PLATFORM`.
    #[arg(short, long, value_name = "PLATFORM")]
    pub platform: Option<String>,

    /// Name the install by the `kfctl.yaml` it was applied from
    ///
    /// Environment: `KFCTL_CONFIG`.
    #[arg(short = 'f', long = "config", value_name = "FILE")]
    pub config: Option<PathBuf>,
}

/// Which cluster to talk to.
#[derive(Debug, clap::Args)]
pub struct ClusterArgs {
    /// The kubeconfig file to use
    ///
    /// Default: `KUBECONFIG`, else `~/.kube/config`.
    #[arg(long, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,

    /// The kubeconfig context to use
    ///
    /// Default: the kubeconfig's current context.
    #[arg(long, value_name = "NAME")]
    pub context: Option<String>,
}

/// `90s`, `10m`, `2h`, `1h30m`, or a number of seconds.
pub fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    let bad = || format!("`{text}` is not a duration: write it as `90s`, `10m` or `1h30m`");
    if let Ok(secs) = text.parse::<u64>() {
        return Ok(std::time::Duration::from_secs(secs));
    }
    let mut total = 0u64;
    let mut number = String::new();
    for c in text.chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            _ => return Err(bad()),
        };
        let n: u64 = number.parse().map_err(|_| bad())?;
        total = n
            .checked_mul(unit)
            .and_then(|v| total.checked_add(v))
            .ok_or_else(bad)?;
        number.clear();
    }
    if !number.is_empty() || total == 0 {
        return Err(bad());
    }
    Ok(std::time::Duration::from_secs(total))
}

#[derive(Debug, clap::Args)]
pub struct ReleaseArg {
    /// The Kubeflow release to use
    ///
    /// One of the releases `kfctl releases` lists. Wins over `spec.release` in `kfctl.yaml`.
    /// Default: the catalog's default release. Environment: `KFCTL_RELEASE`.
    #[arg(long, value_name = "RELEASE")]
    pub release: Option<String>,
}

/// Where `init` and `import` write `kfctl.yaml`, and the root whose catalog they read.
#[derive(Debug, clap::Args)]
pub struct WriteConfigArgs {
    /// Where to write the config
    ///
    /// Default: `kfctl.yaml` in the current directory.
    #[arg(short, long, value_name = "FILE", default_value = "kfctl.yaml")]
    pub output: PathBuf,

    /// Overwrite the output file if it exists
    #[arg(long)]
    pub force: bool,

    #[command(flatten)]
    pub root: RootArg,
}

#[derive(Debug, clap::Args)]
pub struct RootArg {
    /// The directory holding kfctl's catalog, platform profiles and overlays
    ///
    /// It holds `manifests/catalog.yaml`, `platforms/` and `overlays/`. Default: the source
    /// tree kfctl was built from. Environment: `KFCTL_ROOT`.
    #[arg(long, value_name = "DIR")]
    pub root: Option<PathBuf>,

    /// A catalog of your own, laid over the built-in one
    ///
    /// A `kind: Catalog` file like `manifests/catalog.yaml`: a release or component it names
    /// replaces the built-in one of that name, a new one is added, a release may `extends` a
    /// built-in one; relative `source.path`s and a component's own `manifests` start from the
    /// file's directory.
    /// An install records the file and its digest, so that `upgrade`, `rollback`, `diff` and
    /// `status` render it again. Environment: `KFCTL_CATALOG`.
    #[arg(long, value_name = "FILE")]
    pub catalog: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ListFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Yaml,
    Json,
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::parse_duration;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("10m"), Ok(Duration::from_secs(600)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("45"), Ok(Duration::from_secs(45)));
        assert!(parse_duration("10x").is_err());
        assert!(parse_duration("m").is_err());
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("5m3").is_err());
    }
}
