//! The choices and flags the wizard tests share.

use super::*;
use crate::output::Printer;

pub(super) fn quiet() -> Printer {
    Printer::new(false, true)
}

pub(super) fn spec(
    name: &str,
    required: bool,
    default: Option<&str>,
    pattern: Option<&str>,
) -> ParamSpec {
    ParamSpec {
        name: name.to_owned(),
        description: format!("{name} value"),
        required,
        default: default.map(str::to_owned),
        pattern: pattern.map(str::to_owned),
        secret: false,
    }
}

pub(super) fn choices() -> Choices {
    let component = |name: &str, depends: &[&str]| ComponentChoice {
        name: name.to_owned(),
        description: String::new(),
        depends: depends.iter().map(|s| (*s).to_owned()).collect(),
    };
    let mut token = spec("token", true, None, None);
    token.secret = true;
    Choices {
        platforms: vec![
            PlatformChoice {
                name: "cloud".to_owned(),
                description: String::new(),
                parameters: vec![
                    spec("project", true, None, Some("[a-z]{3,8}")),
                    spec("zone", true, Some("z1"), Some("z[0-9]")),
                    spec("storageClass", true, Some("fast"), None),
                    spec("extra", false, None, None),
                    token,
                ],
                default_components: vec!["app".to_owned()],
            },
            PlatformChoice {
                name: "home".to_owned(),
                description: String::new(),
                parameters: vec![spec("storageClass", true, Some("slow"), None)],
                default_components: vec!["base".to_owned(), GPU_COMPONENT.to_owned()],
            },
        ],
        releases: vec!["1.0".to_owned(), "2.0".to_owned()],
        default_release: "2.0".to_owned(),
        components: vec![
            component("base", &[]),
            component("mesh", &["base"]),
            component("app", &["mesh"]),
            component("other", &[]),
            component(GPU_COMPONENT, &[]),
        ],
        default_platform: "home".to_owned(),
    }
}

pub(super) fn never() -> Ask {
    Ask::Never {
        reason: "test".to_owned(),
    }
}
pub(super) fn cloud() -> Given {
    Given {
        platform: Some("cloud".to_owned()),
        set: vec!["project=abc".to_owned(), "token=env:TOKEN".to_owned()],
        admin_password: Some("long-enough".to_owned()),
        output: "kfctl.yaml".to_owned(),
        ..Given::default()
    }
}
