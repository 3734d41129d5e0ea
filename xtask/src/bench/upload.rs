//! Section 2: memory while uploading. A child process (this binary again, with the hidden
//! `--upload-child` flag) uploads 1, 10 or 50 files of 10 MB from disk to a server that discards
//! the bytes, and reports its resident memory before the upload and its peak (`VmHWM`). The
//! invaro upload streams from disk; the baseline reads each file into memory and sends it with
//! reqwest, which is what a user would otherwise write.

use std::{
    fs,
    io::Write as _,
    path::{Path, PathBuf},
    process::Command,
};

use axum::{Router, body::Body, http::header, routing::post};
use futures::StreamExt;
use invaro::{MAX_FILE_BYTES, RateLimit, Upload};

use super::{Settings, report::Figure, report::median, server};

const KEY: &str = "bench-key";
const COUNTS: [usize; 3] = [1, 10, 50];

/// The two ways of uploading.
const WAYS: [&str; 2] = ["invaro", "naive"];

/// Runs the section and returns its figures.
pub fn run(settings: &Settings, work: &Path) -> Result<Vec<Figure>, String> {
    let dir = work.join("upload-files");
    let files = make_files(&dir, *COUNTS.iter().max().expect("counts"))?;
    let server = server::spawn(Router::new().route("/api/v1/parse/upload", post(discard)));
    let exe = std::env::current_exe().map_err(|e| format!("cannot find the bench binary: {e}"))?;
    let mut figures = Vec::new();
    for count in COUNTS {
        // [run][way] megabytes above the baseline.
        let mut runs = Vec::new();
        for run in 0..settings.upload_repeats {
            let mut grown = [0.0; 2];
            for i in 0..2 {
                let index = (run + i) % 2;
                let args = [
                    WAYS[index],
                    &count.to_string(),
                    &server.base_url,
                    &dir.display().to_string(),
                ];
                grown[index] = child(&exe, &args)?;
            }
            runs.push(grown);
        }
        let column = |i: usize| median(&runs.iter().map(|r| r[i]).collect::<Vec<_>>());
        let (invaro, naive) = (column(0), column(1));
        figures.push(
            Figure::new(
                format!("upload {count} × 10 MB: peak memory above baseline"),
                invaro,
                "MB",
            )
            .against("read into memory + reqwest", naive, invaro / naive)
            .target("≤ 16 MB, flat"),
        );
    }
    drop(files);
    let _ = fs::remove_dir_all(&dir);
    Ok(figures)
}

/// `count` PDF files of exactly [`MAX_FILE_BYTES`], sparse after their header.
fn make_files(dir: &Path, count: usize) -> Result<Vec<PathBuf>, String> {
    fs::create_dir_all(dir).map_err(|e| format!("{}: cannot be created: {e}", dir.display()))?;
    (0..count)
        .map(|n| {
            let path = dir.join(format!("statement-{n:02}.pdf"));
            let mut file = fs::File::create(&path)
                .and_then(|mut f| f.write_all(b"%PDF-1.7\n").map(|()| f))
                .map_err(|e| format!("{}: cannot be written: {e}", path.display()))?;
            file.flush()
                .and_then(|()| file.set_len(MAX_FILE_BYTES))
                .map_err(|e| format!("{}: cannot be sized: {e}", path.display()))?;
            Ok(path)
        })
        .collect()
}

/// Reads the request to its end, keeping nothing, and answers with one uploaded document per
/// full 10 MB received, so the child can tell that every byte arrived.
async fn discard(body: Body) -> impl axum::response::IntoResponse {
    let mut stream = body.into_data_stream();
    let mut received = 0u64;
    while let Some(chunk) = stream.next().await {
        match chunk {
            Ok(chunk) => received += chunk.len() as u64,
            Err(_) => break,
        }
    }
    let files: Vec<_> = (0..received / MAX_FILE_BYTES)
        .map(|n| {
            let id = format!("00000000-0000-4000-8000-{n:012}");
            serde_json::json!({"file_id": format!("{n}.pdf"), "file_url": "memory://discarded", "doc_id": id})
        })
        .collect();
    let body = serde_json::json!({"success": true, "data": {"files": files, "status": "done"}});
    (
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
}

/// Runs one upload in a child process and returns its peak memory above its baseline, in MB.
fn child(exe: &Path, args: &[&str]) -> Result<f64, String> {
    let spec = args.join(" ");
    let output = Command::new(exe)
        .args(["bench", "--upload-child"])
        .args(args)
        .output()
        .map_err(|e| format!("cannot start the upload child: {e}"))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        return Err(format!(
            "the upload child {spec} failed: {}{}",
            stdout,
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    let numbers: Vec<f64> = stdout
        .split_whitespace()
        .filter_map(|w| w.parse().ok())
        .collect();
    match numbers[..] {
        [baseline_kb, peak_kb] => Ok((peak_kb - baseline_kb) / 1024.0),
        _ => Err(format!(
            "the upload child printed {stdout:?}, not two numbers"
        )),
    }
}

/// The child, given `way count base_url dir`. Prints its resident memory just before the upload
/// and its peak after it, in kB.
pub fn child_main(args: &[String]) -> Result<(), String> {
    let [way, count, url, dir] = args else {
        return Err(format!(
            "--upload-child {args:?}: expected WAY COUNT URL DIR"
        ));
    };
    let count: usize = count
        .parse()
        .map_err(|_| format!("--upload-child: {count:?} is not a count"))?;
    let paths: Vec<PathBuf> = (0..count)
        .map(|n| Path::new(dir).join(format!("statement-{n:02}.pdf")))
        .collect();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("no tokio runtime: {e}"))?;
    let uploaded = runtime.block_on(async {
        match way.as_str() {
            "invaro" => invaro_upload(url, &paths).await,
            "naive" => naive_upload(url, &paths).await,
            other => Err(format!("--upload-child: unknown way {other:?}")),
        }
    })?;
    let (baseline, peak) = uploaded;
    if peak < baseline {
        return Err("peak memory below the baseline".into());
    }
    println!("{baseline} {peak}");
    Ok(())
}

async fn invaro_upload(url: &str, paths: &[PathBuf]) -> Result<(u64, u64), String> {
    let client = invaro::Client::builder()
        .api_key(KEY)
        .base_url(url)
        .rate_limit(RateLimit::unlimited())
        .build()
        .map_err(|e| e.to_string())?;
    let uploads: Vec<Upload> = paths.iter().map(Upload::path).collect();
    // The baseline: runtime and client ready, a connection open, nothing of the upload in memory.
    client
        .upload(&[Upload::bytes("warm-up.pdf", &b"%PDF-1.7\n"[..])])
        .await
        .map_err(|e| e.to_string())?;
    let baseline = memory("VmRSS")?;
    let uploaded = client.upload(&uploads).await.map_err(|e| e.to_string())?;
    check_count(uploaded.len(), paths.len())?;
    Ok((baseline, memory("VmHWM")?))
}

async fn naive_upload(url: &str, paths: &[PathBuf]) -> Result<(u64, u64), String> {
    let client = reqwest::Client::new();
    let send = |form: reqwest::multipart::Form| {
        client
            .post(format!("{url}/parse/upload"))
            .bearer_auth(KEY)
            .multipart(form)
            .send()
    };
    let warm_up = reqwest::multipart::Part::bytes(&b"%PDF-1.7\n"[..]).file_name("warm-up.pdf");
    send(reqwest::multipart::Form::new().part("files", warm_up))
        .await
        .map_err(|e| e.to_string())?;
    let baseline = memory("VmRSS")?;
    let mut form = reqwest::multipart::Form::new();
    for path in paths {
        let bytes = tokio::fs::read(path)
            .await
            .map_err(|e| format!("{}: {e}", path.display()))?;
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
        let part = reqwest::multipart::Part::bytes(bytes)
            .file_name(name.unwrap_or_default())
            .mime_str("application/pdf")
            .map_err(|e| e.to_string())?;
        form = form.part("files", part);
    }
    let response = send(form).await.map_err(|e| e.to_string())?;
    let answer: serde_json::Value = response.json().await.map_err(|e| e.to_string())?;
    let listed = answer["data"]["files"].as_array().map_or(0, Vec::len);
    check_count(listed, paths.len())?;
    Ok((baseline, memory("VmHWM")?))
}

fn check_count(listed: usize, sent: usize) -> Result<(), String> {
    if listed == sent {
        Ok(())
    } else {
        Err(format!(
            "the server received {listed} whole files of the {sent} sent"
        ))
    }
}

/// A field of `/proc/self/status` in kB: `VmRSS` (resident now) or `VmHWM` (the peak so far).
fn memory(field: &str) -> Result<u64, String> {
    let status = fs::read_to_string("/proc/self/status").map_err(|e| {
        format!("/proc/self/status cannot be read (the upload bench needs Linux): {e}")
    })?;
    status
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
        .ok_or_else(|| format!("/proc/self/status has no {field}"))
}
