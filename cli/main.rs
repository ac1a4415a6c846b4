//! The `kfctl` binary: parse, run, print the final error, pick the exit code.

#![allow(clippy::exit)]

use std::process::ExitCode;

use clap::Parser;
use kfctl::args::Args;
use kfctl::errors::{ErrorClass, classify, render_chain};
use kfctl::output::Printer;
use kfctl::settings::GlobalSettings;

/// 0 ok, 1 user or config error, 2 changes or drift found (with `--exit-code`), 3 internal.
fn main() -> ExitCode {
    let args = match Args::try_parse() {
        Ok(args) => args,
        Err(err) => {
            use clap::error::ErrorKind;
            let _ = err.print();
            return match err.kind() {
                ErrorKind::DisplayHelp
                | ErrorKind::DisplayVersion
                | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => ExitCode::SUCCESS,
                _ => ExitCode::from(1),
            };
        }
    };
    let global = GlobalSettings::resolve(&args.global);
    init_tracing(&global);
    let printer = Printer::new(global.color, global.quiet);

    // One runtime for the whole process; commands that never wait on the network run on it
    // too, and simply never yield.
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            printer.error(
                &[format!("cannot start the async runtime: {e}")],
                &["this is a bug in kfctl or a machine out of threads or memory".to_owned()],
            );
            return ExitCode::from(3);
        }
    };
    let result = runtime.block_on(kfctl::run(args, &global, printer));
    match result {
        Ok(outcome) => ExitCode::from(outcome.exit_code()),
        Err(err) => {
            if is_broken_pipe(&err) {
                // `kfctl build | head`: the reader is gone, which is not a failure.
                return ExitCode::SUCCESS;
            }
            let class = classify(err.as_ref());
            let (chain, mut hints) = render_chain(err.as_ref());
            if class == ErrorClass::Internal {
                hints.push(
                    "this is a bug in kfctl; please report it with the command you ran and `-vv` output"
                        .to_owned(),
                );
            }
            printer.error(&chain, &hints);
            ExitCode::from(class.exit_code())
        }
    }
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

fn init_tracing(global: &GlobalSettings) {
    use tracing_subscriber::EnvFilter;
    // kube's transport logs every 5xx as an error with no object named; kfctl reports each failed
    // request itself, with its object, and retries or waits out those that pass.
    let default = match (global.quiet, global.verbose) {
        (true, _) => "error,kube_client=off",
        (false, 0) => "warn,kube_client=off",
        (false, 1) => "kfctl=info",
        (false, 2) => "kfctl=debug",
        _ => "trace",
    };
    let filter = EnvFilter::try_from_env("RUST_LOG").unwrap_or_else(|_| EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(global.color)
        .without_time()
        .with_target(false)
        .try_init();
}
