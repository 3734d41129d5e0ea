//! A webhook receiver mounted in your own axum app: waits end the moment a delivery arrives,
//! and polling slows to a rare safety net.
//!
//! ```text
//! cargo run -p webhooks        # a local sandbox delivers to this process (feature webhook-receiver)
//! ```
//!
//! Against the real API, the callback URL must be one the API can reach (a public HTTPS URL
//! forwarded to your app), and the secret is your account's webhook secret.

use std::{error::Error, io::Write, time::Duration};

use invaro::{
    Client, DocumentKind, PollPolicy, Upload,
    webhook::{EventKind, Receiver, Verifier},
};
use invaro_sandbox::{JobTimings, Sandbox, samples};

/// Parses a sample invoice with a receiver attached, and reports what ended the wait.
pub async fn run(out: &mut dyn Write) -> Result<(), Box<dyn Error>> {
    let timings = JobTimings {
        pending: Duration::from_millis(200),
        processing: Duration::from_millis(800),
    };
    let sandbox = Sandbox::builder().job_timings(timings).start().await?;

    // The receiver verifies each delivery's signature and tells the waits of attached clients.
    let receiver = Receiver::new(Verifier::new(sandbox.webhook_secret())?);
    let app = axum::Router::new()
        .route("/", axum::routing::get(|| async { "your app" }))
        .route("/hooks/invaro", receiver.service());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let callback_url = format!("http://{}/hooks/invaro", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, app).await });

    // A safety net of ten minutes: only a delivery can end this wait in time.
    let client = Client::builder()
        .api_key(sandbox.api_key())
        .base_url(sandbox.base_url())
        .poll(PollPolicy::default().safety_net(Duration::from_secs(600)))
        .webhooks(&receiver, &callback_url)
        .build()?;
    let mut events = receiver.subscribe();

    let uploaded = client
        .upload(&[Upload::bytes("invoice.pdf", samples::INVOICE_PDF)])
        .await?;
    let job = client
        .start_job(DocumentKind::Invoice, &uploaded[0].doc_id)
        .await?;
    writeln!(
        out,
        "Started job {}; deliveries go to {callback_url}",
        job.id()
    )?;
    let parsed = job.wait().await?;

    // The same verified events, for code that wants them beside the waits.
    let mut seen = Vec::new();
    loop {
        let event = tokio::time::timeout(Duration::from_secs(5), events.recv()).await??;
        seen.push(event.event.as_str().to_owned());
        if event.event == EventKind::JobCompleted && event.job_id == parsed.job_id() {
            writeln!(out, "Deliveries: {}", seen.join(", "))?;
            writeln!(
                out,
                "The wait for {} was ended by a webhook delivery",
                event.job_id
            )?;
            return Ok(());
        }
    }
}
