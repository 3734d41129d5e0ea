//! A local server for a section, on a thread and runtime of its own so that it does not share a
//! scheduler with the clients being measured.

use std::{net::SocketAddr, thread};

use axum::Router;
use tokio::sync::oneshot;

/// A running server; dropping it stops it.
pub struct Server {
    /// `http://127.0.0.1:PORT/api/v1`.
    pub base_url: String,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<thread::JoinHandle<()>>,
}

/// Serves `app` on 127.0.0.1, on a free port.
pub fn spawn(app: Router) -> Server {
    let (ready, addr) = std::sync::mpsc::channel::<SocketAddr>();
    let (stop, stopped) = oneshot::channel::<()>();
    let thread = thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a tokio runtime");
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("a free port on 127.0.0.1");
            ready
                .send(listener.local_addr().expect("a bound address"))
                .expect("the bench waits for the address");
            axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await
                .expect("the server runs");
        });
    });
    let addr = addr.recv().expect("the server starts");
    Server {
        base_url: format!("http://{addr}/api/v1"),
        stop: Some(stop),
        thread: Some(thread),
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The two runtimes of a section that measures a client against a server in one process: the
/// server's (one worker thread, so it never shares a scheduler with the client) and the
/// client's (current thread).
pub fn runtimes() -> Result<(tokio::runtime::Runtime, tokio::runtime::Runtime), String> {
    let server = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .map_err(|e| format!("a tokio runtime: {e}"))?;
    let client = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("a tokio runtime: {e}"))?;
    Ok((server, client))
}
