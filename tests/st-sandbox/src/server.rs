//! Our own accept loop (instead of `axum::serve`) so that a fault can drop a connection
//! with no response at all: each connection gets a [`Conn`] handle in its requests'
//! extensions; [`Conn::drop_now`] makes the connection task abandon the socket.

use axum::Router;
use hyper_util::rt::TokioIo;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tower::ServiceExt;

/// Per-connection handle, inserted into every request's extensions.
#[derive(Clone, Debug)]
pub struct Conn {
    /// The peer (admin routes accept loopback peers only).
    pub peer: SocketAddr,
    kill: Arc<Notify>,
}

impl Conn {
    /// Closes the connection without writing (more of) a response. The caller should then
    /// wait forever (`std::future::pending`), as its future is about to be dropped.
    pub fn drop_now(&self) {
        self.kill.notify_one();
    }
}

/// Serves `app` on `listener` until `shutdown` completes.
pub async fn serve(listener: TcpListener, app: Router, shutdown: impl Future<Output = ()>) {
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => { tokio::spawn(connection(stream, peer, app.clone())); }
                // E.g. out of file descriptors: back off instead of spinning.
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            },
        }
    }
}

async fn connection(stream: tokio::net::TcpStream, peer: SocketAddr, app: Router) {
    let _ = stream.set_nodelay(true);
    let kill = Arc::new(Notify::new());
    let conn = Conn { peer, kill: kill.clone() };
    let service = hyper::service::service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
        req.extensions_mut().insert(conn.clone());
        app.clone().oneshot(req.map(axum::body::Body::new))
    });
    let http = hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service);
    tokio::select! {
        _ = http => {}
        // Dropping `http` drops the socket: the peer sees EOF/reset and no response.
        _ = kill.notified() => {}
    }
}
