//! Downloading one URL to a file while hashing it: timeouts, retries with backoff, and a
//! resumed (HTTP `Range`) or restarted download after a dropped connection.

use std::fs::{File, OpenOptions};
use std::io::{self, IsTerminal, Read, Seek, Write};
use std::path::Path;
use std::time::Duration;

use sha2::{Digest, Sha256};

use super::SourceError;

pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
pub const DEFAULT_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// How downloads behave.
#[derive(Debug, Clone)]
pub struct FetchOptions {
    pub attempts: u32,
    /// The wait before the first retry; it doubles on each one.
    pub backoff: Duration,
    /// How long to wait for a connection (`KFCTL_CONNECT_TIMEOUT`).
    pub connect_timeout: Duration,
    /// How long to wait for the answer and then for each next byte (`KFCTL_READ_TIMEOUT`):
    /// a server that stops sending fails the attempt, which is retried.
    pub read_timeout: Duration,
    pub max_bytes: u64,
    /// A progress bar on stderr when it is a terminal.
    pub progress: bool,
}

impl Default for FetchOptions {
    fn default() -> Self {
        FetchOptions {
            attempts: 4,
            backoff: Duration::from_millis(500),
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            read_timeout: DEFAULT_READ_TIMEOUT,
            max_bytes: 2 << 30,
            progress: true,
        }
    }
}

/// Downloads `url` into `dest` (created or truncated) and returns the sha256 of what it holds.
/// `shown` is the URL as errors and logs name it, without credentials; messages from the HTTP
/// client never carry the URL itself.
///
/// The blocking client runs on its own thread: it owns a runtime, which may not be created or
/// dropped inside a caller's async context.
pub fn download(
    url: &str,
    shown: &str,
    dest: &Path,
    opts: &FetchOptions,
) -> Result<String, SourceError> {
    std::thread::scope(|s| {
        s.spawn(|| download_here(url, shown, dest, opts))
            .join()
            .unwrap_or_else(|_| {
                Err(SourceError::Download {
                    url: shown.to_owned(),
                    message: "the download thread panicked".to_owned(),
                })
            })
    })
}

enum Attempt {
    Done,
    /// Worth another try; what went wrong.
    Retry(String),
}

fn download_here(
    url: &str,
    shown: &str,
    dest: &Path,
    opts: &FetchOptions,
) -> Result<String, SourceError> {
    // kube installs the same provider; whichever comes first wins and the other is a no-op.
    let _ = rustls::crypto::ring::default_provider().install_default();
    // The blocking client's timeout bounds each wait, for the answer and for every read of the
    // body, not the whole download: it is the idle timeout.
    let client = reqwest::blocking::Client::builder()
        .connect_timeout(opts.connect_timeout)
        .timeout(opts.read_timeout)
        .user_agent(concat!("kfctl/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| SourceError::Download {
            url: shown.to_owned(),
            message: chain(&e.without_url()),
        })?;
    let io_err = |source| SourceError::Write {
        path: dest.to_path_buf(),
        source,
    };
    let mut file = OpenOptions::new()
        .create(true)
        .write(true)
        .read(true)
        .truncate(true)
        .open(dest)
        .map_err(io_err)?;
    let mut hasher = Sha256::new();
    let bar = progress_bar(opts.progress, shown);
    let mut last = String::new();
    for attempt in 0..opts.attempts {
        if attempt > 0 {
            let wait = opts.backoff * 2u32.saturating_pow(attempt - 1);
            tracing::info!(url = shown, attempt, ?wait, "retrying download: {last}");
            std::thread::sleep(wait);
        }
        match try_once(
            &client,
            (url, shown),
            (&mut file, dest),
            &mut hasher,
            opts,
            &bar,
        )? {
            Attempt::Done => {
                bar.finish_and_clear();
                file.flush().map_err(io_err)?;
                return Ok(crate::resource::digest::hex(&hasher.finalize()));
            }
            Attempt::Retry(why) => last = why,
        }
    }
    bar.finish_and_clear();
    Err(SourceError::Download {
        url: shown.to_owned(),
        message: format!("gave up after {} attempts: {last}", opts.attempts),
    })
}

fn try_once(
    client: &reqwest::blocking::Client,
    (url, shown): (&str, &str),
    (file, dest): (&mut File, &Path),
    hasher: &mut Sha256,
    opts: &FetchOptions,
    bar: &indicatif::ProgressBar,
) -> Result<Attempt, SourceError> {
    let have = file
        .stream_position()
        .map_err(|source| SourceError::Write {
            path: dest.to_path_buf(),
            source,
        })?;
    let mut req = client.get(url);
    if have > 0 {
        req = req.header(reqwest::header::RANGE, format!("bytes={have}-"));
    }
    let mut resp = match req.send() {
        Ok(r) => r,
        Err(e) if e.is_timeout() && e.is_connect() => {
            return Ok(Attempt::Retry(format!(
                "no connection within {}s (`KFCTL_CONNECT_TIMEOUT`)",
                opts.connect_timeout.as_secs_f64()
            )));
        }
        Err(e) if e.is_timeout() => {
            return Ok(Attempt::Retry(format!(
                "no answer within {}s (`KFCTL_READ_TIMEOUT`)",
                opts.read_timeout.as_secs_f64()
            )));
        }
        Err(e) => return Ok(Attempt::Retry(chain(&e.without_url()))),
    };
    let status = resp.status();
    if status == reqwest::StatusCode::PARTIAL_CONTENT && have > 0 {
        tracing::info!(url = shown, offset = have, "resuming download");
    } else if status.is_success() {
        if have > 0 {
            // The server ignored the range: start over.
            file.set_len(0)
                .and_then(|_| file.rewind())
                .map_err(|source| SourceError::Write {
                    path: dest.to_path_buf(),
                    source,
                })?;
            *hasher = Sha256::new();
            bar.set_position(0);
        }
    } else if status.is_server_error()
        || status == reqwest::StatusCode::TOO_MANY_REQUESTS
        || status == reqwest::StatusCode::REQUEST_TIMEOUT
    {
        return Ok(Attempt::Retry(format!("the server answered {status}")));
    } else {
        return Err(SourceError::Status {
            url: shown.to_owned(),
            status: status.to_string(),
        });
    }
    let expected = resp
        .content_length()
        .map(|len| len + file.stream_position().unwrap_or(0));
    if let Some(len) = expected {
        bar.set_length(len);
    }
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match resp.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) if e.kind() == io::ErrorKind::TimedOut || is_timeout(&e) => {
                return Ok(Attempt::Retry(format!(
                    "no data for {}s (`KFCTL_READ_TIMEOUT`)",
                    opts.read_timeout.as_secs_f64()
                )));
            }
            Err(e) => return Ok(Attempt::Retry(format!("the connection broke: {e}"))),
        };
        file.write_all(&buf[..n])
            .map_err(|source| SourceError::Write {
                path: dest.to_path_buf(),
                source,
            })?;
        hasher.update(&buf[..n]);
        bar.inc(n as u64);
        if file.stream_position().unwrap_or(0) > opts.max_bytes {
            return Err(SourceError::TooLarge {
                url: shown.to_owned(),
                limit: opts.max_bytes,
            });
        }
    }
    // A body shorter than announced is a dropped connection, not a finished download.
    if let Some(expected) = expected
        && file.stream_position().unwrap_or(0) < expected
    {
        return Ok(Attempt::Retry(
            "the connection closed before the end".to_owned(),
        ));
    }
    Ok(Attempt::Done)
}

fn progress_bar(wanted: bool, url: &str) -> indicatif::ProgressBar {
    if !wanted || !io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(0);
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{msg} {bar:30} {bytes}/{total_bytes} {bytes_per_sec}",
    ) {
        bar.set_style(style);
    }
    bar.set_message(url.rsplit('/').next().unwrap_or(url).to_owned());
    bar
}

/// Whether a read failed because the client's timeout expired (reqwest wraps it).
fn is_timeout(e: &io::Error) -> bool {
    e.get_ref()
        .and_then(|inner| inner.downcast_ref::<reqwest::Error>())
        .is_some_and(reqwest::Error::is_timeout)
}

/// The error and its causes on one line (reqwest hides the useful part in its sources).
fn chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        out.push_str(": ");
        out.push_str(&c.to_string());
        cur = c.source();
    }
    out
}

/// The sha256 of a file already on disk.
pub fn sha256_file(path: &Path) -> io::Result<String> {
    let mut f = File::open(path)?;
    let mut hasher = Sha256::new();
    io::copy(&mut f, &mut hasher)?;
    Ok(crate::resource::digest::hex(&hasher.finalize()))
}

#[cfg(test)]
mod tests {
    use std::io::{Read as _, Write as _};
    use std::net::TcpListener;

    use super::*;

    /// A failed write names the file written, not the URL read.
    #[cfg(target_os = "linux")]
    #[test]
    fn a_write_error_names_the_file() {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback port");
        let url = format!(
            "http://{}/f.yaml",
            listener.local_addr().expect("an address")
        );
        let server = std::thread::spawn(move || {
            let (mut conn, _) = listener.accept().expect("a connection");
            let mut request = [0u8; 1024];
            let _ = conn.read(&mut request);
            let _ = conn.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello");
        });
        let opts = FetchOptions {
            attempts: 1,
            progress: false,
            ..FetchOptions::default()
        };
        // Every write to `/dev/full` fails.
        let err = download(&url, &url, Path::new("/dev/full"), &opts).expect_err("no space");
        let _ = server.join();
        assert!(
            matches!(&err, SourceError::Write { path, .. } if path == Path::new("/dev/full")),
            "{err:?}"
        );
    }
}
