//! Shared by the sync tests: a small docs site served from 127.0.0.1, and throwaway copies of
//! the workspace files the sync reads and writes.

#![allow(dead_code)] // Each test binary uses its own part of this module.

use std::{
    collections::{BTreeMap, HashMap},
    fs,
    io::{Read, Write},
    net::TcpListener,
    path::{Path, PathBuf},
    sync::Arc,
};

use axum::{
    Router,
    http::{StatusCode, Uri, header::LOCATION},
    response::IntoResponse,
};

/// The workspace root, found the way the command finds it (cargo sets `CARGO_MANIFEST_DIR` for
/// test processes too).
pub fn root() -> PathBuf {
    xtask::project_root().expect("the tests run inside the workspace")
}

/// `../shared/upstream/<name>`: reference data beside the repository, never copied into it.
pub fn shared_upstream(name: &str) -> PathBuf {
    root().join("../shared/upstream").join(name)
}

/// What the test site answers on one path.
#[derive(Debug, Clone)]
pub enum Reply {
    /// 200 with this body.
    Page(String),
    /// 302 to this location.
    Redirect(String),
    /// This status, with a proxy's HTML page as the body.
    Status(u16),
}

/// Serves `pages` (URL path -> body) on 127.0.0.1 until the test process ends; every other path
/// answers 404. Returns the base URL.
pub fn serve(pages: &[(&str, String)]) -> String {
    let replies: Vec<(&str, Reply)> = pages
        .iter()
        .map(|(path, body)| (*path, Reply::Page(body.clone())))
        .collect();
    serve_replies(&replies)
}

/// Serves `replies` (URL path -> reply) on 127.0.0.1 until the test process ends; every other
/// path answers 404. Returns the base URL.
pub fn serve_replies(replies: &[(&str, Reply)]) -> String {
    let replies: Arc<HashMap<String, Reply>> = Arc::new(
        replies
            .iter()
            .map(|(path, reply)| ((*path).to_owned(), reply.clone()))
            .collect(),
    );
    // Bound before the thread starts: connections wait in the backlog, so there is no race.
    let listener = TcpListener::bind("127.0.0.1:0").expect("a free local port");
    listener
        .set_nonblocking(true)
        .expect("a non-blocking listener");
    let address = listener.local_addr().expect("a bound address");
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a test runtime");
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).expect("a tokio listener");
            let app = Router::new().fallback(move |uri: Uri| {
                let replies = Arc::clone(&replies);
                async move {
                    match replies.get(uri.path()) {
                        Some(Reply::Page(body)) => (StatusCode::OK, body.clone()).into_response(),
                        Some(Reply::Redirect(to)) => {
                            (StatusCode::FOUND, [(LOCATION, to.clone())]).into_response()
                        }
                        Some(Reply::Status(code)) => (
                            StatusCode::from_u16(*code).expect("a valid status"),
                            "<html><body><h1>Bad gateway</h1></body></html>",
                        )
                            .into_response(),
                        None => StatusCode::NOT_FOUND.into_response(),
                    }
                }
            });
            axum::serve(listener, app)
                .await
                .expect("the docs site serves");
        });
    });
    format!("http://{address}")
}

/// A server on 127.0.0.1 answering every request with `total` bytes of Markdown in chunks and
/// no `Content-Length`, so that only counting while reading can tell the size. Returns the base
/// URL.
pub fn serve_chunked(total: usize) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a free local port");
    let address = listener.local_addr().expect("a bound address");
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            std::thread::spawn(move || {
                let mut request = [0u8; 4096];
                let _ = stream.read(&mut request);
                let head = "HTTP/1.1 200 OK\r\ncontent-type: text/markdown\r\ntransfer-encoding: chunked\r\n\r\n";
                let chunk = vec![b'x'; 64 * 1024];
                let mut sent = 0;
                // The client hangs up once it has seen enough: writing then fails, which ends this.
                let mut result = stream.write_all(head.as_bytes());
                while result.is_ok() && sent < total {
                    let part = &chunk[..chunk.len().min(total - sent)];
                    sent += part.len();
                    result = stream
                        .write_all(format!("{:x}\r\n", part.len()).as_bytes())
                        .and_then(|()| stream.write_all(part))
                        .and_then(|()| stream.write_all(b"\r\n"));
                }
                let _ = stream.write_all(b"0\r\n\r\n");
            });
        }
    });
    format!("http://{address}")
}

/// A server on 127.0.0.1 that accepts connections and never answers (it keeps them open until
/// the test process ends). Returns the base URL.
pub fn serve_silent() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a free local port");
    let address = listener.local_addr().expect("a bound address");
    std::thread::spawn(move || {
        let mut open = Vec::new();
        for stream in listener.incoming() {
            open.extend(stream.ok());
        }
    });
    format!("http://{address}")
}

/// A server on 127.0.0.1 whose every answer promises `Content-Length: 4096` and then hangs up
/// after a few bytes: a cut body. Returns the base URL.
pub fn serve_cut() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a free local port");
    let address = listener.local_addr().expect("a bound address");
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut request = [0u8; 4096];
            let _ = stream.read(&mut request);
            let _ = stream.write_all(
                b"HTTP/1.1 200 OK\r\ncontent-type: text/markdown\r\ncontent-length: 4096\r\n\r\n# Docs\n",
            );
        }
    });
    format!("http://{address}")
}

/// A local URL nothing listens on.
pub fn closed_port_url(path: &str) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a free local port");
    let address = listener.local_addr().expect("a bound address");
    drop(listener);
    format!("http://{address}{path}")
}

/// A page in the form of the docs site: quoted preamble, prose, then the fenced fragment.
pub fn page(title: &str, method_and_path: &str, fragment: &str) -> String {
    format!(
        "> ## Documentation Index\n> Fetch the complete documentation index at: https://docs.test/llms.txt\n\n\
         # {title}\n\n> {title}, for tests.\n\n## OpenAPI\n\n````yaml {method_and_path}\n{fragment}````\n"
    )
}

/// The fragment header shared by the test pages: server URL ending in `/api/v1`.
pub const HEADER: &str = "openapi: 3.0.0
info:
  title: Test API
  version: 1.0.0
servers:
  - url: https://api.test/api/v1
    description: Production
  - url: https://staging.test/api/v1
    description: Staging
";

/// GET /api/v1/jobs/{id}: a job with a two-value status enum.
pub fn get_job_fragment() -> String {
    format!(
        "{HEADER}paths:
  /api/v1/jobs/{{id}}:
    get:
      operationId: getJob
      summary: Get a job
      parameters:
        - name: id
          in: path
          required: true
          schema:
            type: string
      responses:
        '200':
          description: The job.
          content:
            application/json:
              schema:
                type: object
                properties:
                  id:
                    type: string
                  status:
                    type: string
                    enum:
                      - running
                      - done
"
    )
}

/// POST /api/v1/jobs with a `name`.
pub fn create_job_fragment() -> String {
    format!(
        "{HEADER}paths:
  /api/v1/jobs:
    post:
      operationId: createJob
      summary: Create a job
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              required:
                - name
              properties:
                name:
                  type: string
      responses:
        '200':
          description: Created.
components:
  securitySchemes:
    bearerAuth:
      type: http
      scheme: bearer
"
    )
}

/// A whole JSON spec: GET /health, already relative to the server URL.
pub const WHOLE_SPEC: &str = r#"{
  "openapi": "3.0.1",
  "info": {"title": "Whole", "version": "1"},
  "servers": [{"url": "https://api.test/api/v1"}],
  "paths": {
    "/health": {"get": {"operationId": "health", "responses": {"200": {"description": "Up."}}}}
  },
  "components": {"schemas": {"Health": {"type": "object"}}}
}"#;

/// The index of the test site: two pages with fences and one without.
pub const INDEX: &str = "# Test docs

> For tests.

## Docs

- [Get a job](/api/jobs/get-job): Reads one job.
- [Create a job](/api/jobs/create-job.md): Starts a job.
- [Introduction](/guides/intro)
";

/// The test docs site: index, pages (the `.md` form is what the index leads to), a whole spec,
/// and the bad inputs.
pub fn docs_site() -> String {
    let conflicting = get_job_fragment().replace("summary: Get a job", "summary: Read a job");
    serve(&[
        ("/llms.txt", INDEX.into()),
        (
            "/api/jobs/get-job.md",
            page("Get a job", "GET /api/v1/jobs/{id}", &get_job_fragment()),
        ),
        (
            "/api/jobs/create-job.md",
            page("Create a job", "POST /api/v1/jobs", &create_job_fragment()),
        ),
        (
            "/guides/intro.md",
            "# Introduction\n\nNo API here.\n\n```json\n{}\n```\n".into(),
        ),
        ("/openapi.json", WHOLE_SPEC.into()),
        (
            "/copy/get-job.md",
            page("Get a job", "GET /api/v1/jobs/{id}", &get_job_fragment()),
        ),
        (
            "/bad/conflict.md",
            page("Read a job", "GET /api/v1/jobs/{id}", &conflicting),
        ),
        (
            "/bad/malformed.md",
            page(
                "Broken",
                "GET /x",
                "openapi: 3.0.0\npaths:\n  /x: [unclosed\n",
            ),
        ),
        (
            "/bad/v32.md",
            page(
                "New",
                "GET /x",
                "openapi: 3.2.0\ninfo: {title: t, version: '1'}\npaths: {}\n",
            ),
        ),
        (
            "/bad/swagger.json",
            r#"{"swagger": "2.0", "info": {"title": "t", "version": "1"}, "paths": {}}"#.into(),
        ),
        (
            "/bad/html.md",
            "<!DOCTYPE html>\n<html><body>Docs</body></html>\n".into(),
        ),
        (
            "/bad/empty.txt",
            "# Test docs\n\nNothing listed yet.\n".into(),
        ),
    ])
}

/// A throwaway copy of what the sync reads and writes (`openapi.yaml`, `spec/`, `client/src`),
/// with the root `Cargo.toml` that makes it a workspace root.
pub struct Workspace {
    dir: tempfile::TempDir,
}

impl Workspace {
    /// Copies the committed files.
    pub fn copy() -> Workspace {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let real = root();
        copy_tree(&real.join("spec"), &dir.path().join("spec"));
        fs::copy(real.join("openapi.yaml"), dir.path().join("openapi.yaml")).expect("copy spec");
        fs::copy(real.join("Cargo.toml"), dir.path().join("Cargo.toml")).expect("copy manifest");
        // The whole client source: the snapshot, and the hand-written files whose use of the
        // generated items the report judges.
        copy_tree(&real.join("client/src"), &dir.path().join("client/src"));
        Workspace { dir }
    }

    /// Its root.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Every file under the root and its bytes: to show that nothing changed.
    pub fn files(&self) -> BTreeMap<PathBuf, Vec<u8>> {
        let mut files = BTreeMap::new();
        collect(self.path(), self.path(), &mut files);
        files
    }

    /// The text of a file, by its path relative to the root.
    pub fn read(&self, path: &str) -> String {
        fs::read_to_string(self.path().join(path)).expect("a readable file")
    }

    /// Replaces a file, by its path relative to the root.
    pub fn write(&self, path: &str, text: &str) {
        fs::write(self.path().join(path), text).expect("a writable file");
    }
}

/// Copies the folder `from` and everything in it to `to`.
pub fn copy_tree(from: &Path, to: &Path) {
    fs::create_dir_all(to).expect("a folder");
    for entry in fs::read_dir(from).expect("a readable folder") {
        let entry = entry.expect("a folder entry");
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), target).expect("a copied file");
        }
    }
}

fn collect(root: &Path, dir: &Path, files: &mut BTreeMap<PathBuf, Vec<u8>>) {
    for entry in fs::read_dir(dir).expect("a readable folder") {
        let path = entry.expect("a folder entry").path();
        if path.is_dir() {
            collect(root, &path, files);
        } else {
            let bytes = fs::read(&path).expect("a readable file");
            files.insert(
                path.strip_prefix(root).expect("inside").to_path_buf(),
                bytes,
            );
        }
    }
}
