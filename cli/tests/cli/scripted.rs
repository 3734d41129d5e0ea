//! A scripted Invaro API on 127.0.0.1 that behaves like servers we did not write: FastAPI-style
//! `{"detail": "Not Found"}` errors, jobs that never finish, a start that never answers, and a
//! download whose body is cut short. It counts what it saw and tells the test when it saw it.
//!
//! What a name means: a document id containing `hang` gets a start that never answers; a job id
//! containing `quick` is completed, `missing` is unknown (404), anything else stays pending.
//! Uploading `NAME.pdf` gives document `doc_NAME`, whose job is `job_NAME`. Downloads are served
//! by a second listener ([`Scripted::cut_url`]) that cuts every body short.

use std::{
    sync::{Arc, Mutex, mpsc},
    time::Duration,
};

use axum::{
    Json, Router,
    extract::{Multipart, Path, State},
    http::StatusCode,
    response::{IntoResponse, Response},
    routing::{get, post},
};
use serde_json::{Value, json};

/// The size the download route announces, and how much of it it sends.
pub const ANNOUNCED: usize = 100_000;
/// How much of the announced download is sent before the connection is cut.
pub const SENT: usize = 1_000;

#[derive(Clone)]
struct Shared {
    /// Every request seen, as `route detail` (`upload a.pdf`, `start doc_a`...).
    log: Arc<Mutex<Vec<String>>>,
    events: Arc<Mutex<mpsc::Sender<String>>>,
}

impl Shared {
    /// Records a request as `what` and tells the test.
    fn saw(&self, what: String) {
        self.log.lock().expect("not poisoned").push(what.clone());
        let _ = self.events.lock().expect("not poisoned").send(what);
    }
}

/// The server, running on its own runtime until dropped.
pub struct Scripted {
    shared: Shared,
    events: mpsc::Receiver<String>,
    url: String,
    cut_url: String,
    _runtime: tokio::runtime::Runtime,
}

impl Scripted {
    /// Starts the server on a free port of 127.0.0.1.
    pub fn start() -> Self {
        let (tx, events) = mpsc::channel();
        let shared = Shared {
            log: Arc::default(),
            events: Arc::new(Mutex::new(tx)),
        };
        let app = Router::new()
            .route("/api/v1/parse/upload", post(upload))
            .route("/api/v1/parse/invoices", post(start))
            .route("/api/v1/parse/statements", post(start))
            .route("/api/v1/parse/invoices/{job_id}", get(status))
            .route("/api/v1/parse/statements/{job_id}", get(status))
            .route("/api/v1/parse/{job_id}", get(status))
            .with_state(shared.clone());
        let (runtime, url) = crate::support::serve_scripted(app);
        let cut = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .expect("a free port");
        let cut_url = format!("http://{}/api/v1", cut.local_addr().expect("an address"));
        runtime.spawn(cut_downloads(cut, shared.clone()));
        Self {
            shared,
            events,
            url,
            cut_url,
            _runtime: runtime,
        }
    }

    /// The base URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The base URL of a server whose every answer is a body cut short (see [`cut_downloads`]).
    pub fn cut_url(&self) -> &str {
        &self.cut_url
    }

    /// How many requests of a kind it saw: `upload`, `start`, `status` or `download`.
    pub fn seen(&self, route: &str) -> usize {
        let log = self.shared.log.lock().expect("not poisoned");
        log.iter()
            .filter(|what| what.split(' ').next() == Some(route))
            .count()
    }

    /// Whether it saw exactly `what`, such as `upload a.pdf`.
    pub fn saw(&self, what: &str) -> bool {
        self.shared
            .log
            .lock()
            .expect("not poisoned")
            .iter()
            .any(|w| w == what)
    }

    /// Waits (at most 10 s) for a request described as `what`, such as `start doc_hang`.
    pub fn wait_for(&self, what: &str) {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while let Some(left) = deadline.checked_duration_since(std::time::Instant::now()) {
            match self.events.recv_timeout(left) {
                Ok(event) if event == what => return,
                Ok(_) => {}
                Err(_) => break,
            }
        }
        panic!("the server saw no {what:?} within 10 s");
    }
}

fn enveloped(data: Value) -> Json<Value> {
    Json(json!({"success": true, "data": data}))
}

async fn upload(State(shared): State<Shared>, mut form: Multipart) -> Response {
    let mut files = Vec::new();
    while let Ok(Some(field)) = form.next_field().await {
        let name = field.file_name().unwrap_or("file").to_string();
        let stem = name.split('.').next().unwrap_or_default().to_string();
        let _ = field.bytes().await;
        shared.saw(format!("upload {name}"));
        files.push(json!({"doc_id": format!("doc_{stem}"), "file_id": format!("1_{name}")}));
    }
    enveloped(json!({"files": files, "status": "done"})).into_response()
}

async fn start(State(shared): State<Shared>, Json(request): Json<Value>) -> Response {
    let document = request["document_id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    shared.saw(format!("start {document}"));
    if document.contains("hang") {
        std::future::pending::<()>().await;
    }
    let job = format!("job_{}", document.trim_start_matches("doc_"));
    enveloped(json!({"job_id": job, "status": "pending"})).into_response()
}

async fn status(State(shared): State<Shared>, Path(job_id): Path<String>) -> Response {
    shared.saw(format!("status {job_id}"));
    if job_id.contains("missing") {
        return (StatusCode::NOT_FOUND, Json(json!({"detail": "Not Found"}))).into_response();
    }
    let now = "2026-01-01T00:00:00Z";
    let mut job =
        json!({"job_id": job_id, "status": "pending", "created_at": now, "updated_at": now});
    if job_id.contains("quick") {
        job["status"] = json!("completed");
        job["progress"] = json!(100);
        job["result"] = json!({"total": "1,234.00", "job": job_id});
    }
    enveloped(job).into_response()
}

/// Serves every request on `listener` with a 200 that announces [`ANNOUNCED`] bytes, sends
/// [`SENT`] of them and closes the connection: a body cut short, on the wire, as a proxy timing
/// out or a crashing worker leaves it. For a path containing `stall` the connection stays open
/// instead, the rest never coming.
async fn cut_downloads(listener: tokio::net::TcpListener, shared: Shared) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    while let Ok((mut socket, _)) = listener.accept().await {
        let shared = shared.clone();
        tokio::spawn(async move {
            let mut request = Vec::new();
            let mut buf = [0u8; 1024];
            while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                match socket.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => request.extend_from_slice(&buf[..n]),
                }
            }
            let line = String::from_utf8_lossy(&request);
            let path = line.split(' ').nth(1).unwrap_or_default().to_string();
            shared.saw(format!("download {path}"));
            let head = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/pdf\r\ncontent-length: {ANNOUNCED}\r\n\r\n"
            );
            let _ = socket.write_all(head.as_bytes()).await;
            let _ = socket.write_all(&[b'%'; SENT]).await;
            let _ = socket.flush().await;
            shared.saw(format!("sent {path}"));
            if path.contains("stall") {
                // The rest never comes, and the connection stays open.
                std::future::pending::<()>().await;
            }
            let _ = socket.shutdown().await;
        });
    }
}
