//! A loopback HTTP/1.1 file server for tests of remote sources: one thread, one request per
//! connection, every request logged.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// A minimal HTTP/1.1 file server: GET with optional `Range: bytes=N-`, one request per
/// connection. `drop_first` cuts the first response to a path after that many bytes.
pub struct Server {
    port: u16,
    requests: Arc<Mutex<Vec<String>>>,
}

impl Server {
    pub fn start(files: BTreeMap<String, Vec<u8>>, drop_first: Option<usize>) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let log = requests.clone();
        let served = Arc::new(AtomicUsize::new(0));
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let n = served.fetch_add(1, Ordering::SeqCst);
                let cut = if n == 0 { drop_first } else { None };
                handle(stream, &files, &log, cut);
            }
        });
        Server { port, requests }
    }

    /// A server that accepts every connection and then stalls for a minute: with `send`, after
    /// answering 200 with `body`'s length and sending that many bytes of it; without, before
    /// reading the request.
    pub fn stalling(body: Vec<u8>, send: Option<usize>) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let log = requests.clone();
        let body = Arc::new(body);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let (log, body) = (log.clone(), body.clone());
                std::thread::spawn(move || {
                    if let Some(n) = send {
                        let mut reader = BufReader::new(stream.try_clone().unwrap());
                        let mut line = String::new();
                        while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                            line.clear();
                        }
                        log.lock().unwrap().push("GET".to_owned());
                        let head = format!(
                            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                            body.len()
                        );
                        let _ = stream.write_all(head.as_bytes());
                        let _ = stream.write_all(&body[..n.min(body.len())]);
                        let _ = stream.flush();
                    }
                    std::thread::sleep(std::time::Duration::from_secs(60));
                    drop(stream);
                });
            }
        });
        Server { port, requests }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}/{path}", self.port)
    }

    pub fn requests(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }
}

fn handle(
    mut stream: TcpStream,
    files: &BTreeMap<String, Vec<u8>>,
    log: &Mutex<Vec<String>>,
    cut: Option<usize>,
) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    let path = line
        .split_whitespace()
        .nth(1)
        .unwrap_or("/")
        .trim_start_matches('/')
        .to_owned();
    let mut range = None;
    let mut authorized = false;
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).unwrap() == 0 || h == "\r\n" {
            break;
        }
        let lower = h.to_ascii_lowercase();
        if let Some(v) = lower.strip_prefix("range: bytes=") {
            range = v.trim().trim_end_matches('-').parse::<usize>().ok();
        }
        authorized |= lower.starts_with("authorization: basic ");
    }
    let mut entry = match range {
        Some(r) => format!("GET /{path} from {r}"),
        None => format!("GET /{path}"),
    };
    if authorized {
        entry.push_str(" (authorized)");
    }
    log.lock().unwrap().push(entry);
    let Some(body) = files.get(&path) else {
        let _ = stream
            .write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        return;
    };
    let (status, part) = match range {
        Some(start) if start < body.len() => ("206 Partial Content", &body[start..]),
        _ => ("200 OK", &body[..]),
    };
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Length: {}\r\nAccept-Ranges: bytes\r\nConnection: close\r\n\r\n",
        part.len()
    );
    let _ = stream.write_all(head.as_bytes());
    match cut {
        Some(n) => {
            let _ = stream.write_all(&part[..n.min(part.len())]);
            let _ = stream.flush();
            // Dropping the stream mid-body is the broken connection.
        }
        None => {
            let _ = stream.write_all(part);
        }
    }
}
