//! Helpers shared by the sandbox's integration tests: a started sandbox and a plain HTTP client.
#![allow(dead_code)]

use invaro_sandbox::{JobTimings, Sandbox, SandboxBuilder};
use reqwest::multipart::{Form, Part};
use reqwest::{Method, RequestBuilder, Response};
use serde_json::Value;

/// A running sandbox with a client that sends its API key.
pub struct Api {
    pub sandbox: Sandbox,
    pub http: reqwest::Client,
}

/// A builder with instant jobs and a rate limit high enough not to matter.
pub fn builder() -> SandboxBuilder {
    Sandbox::builder()
        .job_timings(JobTimings::INSTANT)
        .rate_limit(100_000, std::time::Duration::from_secs(60))
}

impl Api {
    pub async fn start(builder: SandboxBuilder) -> Self {
        let sandbox = builder.start().await.expect("the sandbox starts");
        Self {
            sandbox,
            http: reqwest::Client::new(),
        }
    }

    pub async fn default() -> Self {
        Self::start(builder()).await
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.sandbox.base_url())
    }

    /// A request with the sandbox's API key.
    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.http
            .request(method, self.url(path))
            .bearer_auth(self.sandbox.api_key())
    }

    pub async fn get(&self, path: &str) -> Response {
        self.request(Method::GET, path)
            .send()
            .await
            .expect("GET answered")
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> Response {
        self.request(Method::POST, path)
            .json(body)
            .send()
            .await
            .expect("POST answered")
    }

    /// Uploads `files` (name, bytes) to `path` and returns the `doc_id`s.
    pub async fn upload_to(&self, path: &str, files: &[(&str, &[u8])]) -> Vec<String> {
        let response = self
            .request(Method::POST, path)
            .multipart(form(files))
            .send()
            .await
            .expect("upload answered");
        let body = json_of(response, 200).await;
        body["data"]["files"]
            .as_array()
            .expect("a files array")
            .iter()
            .map(|f| f["doc_id"].as_str().expect("a doc_id").to_owned())
            .collect()
    }

    /// Uploads one PDF named `name` through POST /parse/upload and returns its `doc_id`.
    pub async fn upload(&self, name: &str) -> String {
        let bytes = invaro_sandbox::samples::INVOICE_PDF;
        self.upload_to("/parse/upload", &[(name, bytes)])
            .await
            .remove(0)
    }

    /// Starts a job of `kind` (`invoices` or `statements`) and returns its id.
    pub async fn start_job(&self, kind: &str, document_id: &str) -> String {
        let response = self
            .post_json(
                &format!("/parse/{kind}"),
                &serde_json::json!({ "document_id": document_id }),
            )
            .await;
        json_of(response, 200).await["data"]["job_id"]
            .as_str()
            .expect("a job_id")
            .to_owned()
    }
}

/// A multipart form with one `files` part per (name, bytes).
pub fn form(files: &[(&str, &[u8])]) -> Form {
    files.iter().fold(Form::new(), |form, (name, bytes)| {
        form.part(
            "files",
            Part::bytes(bytes.to_vec()).file_name(name.to_string()),
        )
    })
}

/// Asserts the status and returns the JSON body.
pub async fn json_of(response: Response, status: u16) -> Value {
    let actual = response.status().as_u16();
    let text = response.text().await.expect("a body");
    assert_eq!(actual, status, "unexpected status; body: {text}");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

/// Asserts an error envelope with `status` and `code`.
pub async fn assert_error(response: Response, status: u16, code: &str) -> Value {
    let body = json_of(response, status).await;
    assert_eq!(body["success"], false, "{body}");
    assert_eq!(body["error"]["code"], code, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{body}"
    );
    body
}
