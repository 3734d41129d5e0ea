//! `invaro webhook verify|sign`: check or make the `X-Signature` of a delivery.

use invaro::webhook::{self, Verifier, WebhookError, WebhookEvent};
use serde_json::json;

use crate::args::WebhookCommand;

use crate::commands::read_input;

use crate::context::Ctx;

use crate::exit::{Exit, Failure};

/// Runs `invaro webhook ...`.
pub fn run(ctx: &Ctx, command: WebhookCommand) -> Result<(), Failure> {
    match command {
        WebhookCommand::Verify {
            secret,
            signature,
            body,
        } => {
            let verifier = Verifier::new(&secret).map_err(|e| Failure::usage(e.to_string()))?;
            let bytes = read_input(&body)?;
            verifier
                .verify_signature(&bytes, &signature)
                .map_err(|e| Failure::new(rejection_exit(&e), e.to_string()))?;
            // The signature is what is checked; the body need not be an event to be genuine.
            let event = WebhookEvent::from_slice(&bytes).ok();
            let summary = event
                .as_ref()
                .map(|e| json!({"event": e.event, "job_id": e.job_id}));
            ctx.out
                .emit(&json!({"valid": true, "event": summary}), || match &event {
                    Some(event) => format!("valid: {} for job {}", event.event, event.job_id),
                    None => "valid".to_string(),
                });
        }
        WebhookCommand::Sign { secret, body } => {
            if secret.is_empty() {
                return Err(Failure::usage(WebhookError::EmptySecret.to_string()));
            }
            let header = webhook::sign(&secret, &read_input(&body)?);
            ctx.out
                .emit(&json!({"signature": header}), || header.clone());
        }
    }
    Ok(())
}

/// A signature that does not match is a verification failure (1); the rest is bad input (2).
fn rejection_exit(error: &WebhookError) -> Exit {
    match error {
        WebhookError::SignatureMismatch => Exit::Api,
        _ => Exit::Usage,
    }
}
