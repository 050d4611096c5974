//! The HTTP edge: pitwall's own accept loop over hyper's HTTP/1.1 server, because `axum::serve`
//! installs no timer (so hyper's header-read timeout is inert) and caps nothing. Here every
//! connection must deliver a complete request head within [`EdgeLimits::header_read_timeout`]
//! (also the keep-alive idle limit), heads are capped in size, connections are capped in total
//! and per client address, and shutdown stops accepting, lets in-flight responses finish for the
//! drain timeout, then closes what is left.
//!
//! HTTP/2 is not served in clear text: browsers speak it only over TLS, which a reverse proxy in
//! front of pitwall terminates.

use std::{
    collections::HashMap,
    io,
    net::{IpAddr, SocketAddr},
    os::fd::AsRawFd,
    pin::Pin,
    sync::{Arc, Mutex},
    task::{Context, Poll},
    time::Duration,
};

use axum::{Router, extract::ConnectInfo};
use hyper::body::Incoming;
use hyper_util::{
    rt::{TokioIo, TokioTimer},
    server::graceful::GracefulShutdown,
    service::TowerToHyperService,
};
use tokio::{
    io::{AsyncRead, AsyncWrite, Interest, ReadBuf},
    net::{TcpListener, TcpStream},
    sync::Semaphore,
    task::JoinSet,
};
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

use crate::relay::shm;

/// Connection-level limits.
#[derive(Debug, Clone, Copy)]
pub struct EdgeLimits {
    /// Connections open at once; further clients wait in the kernel's accept queue.
    pub max_connections: usize,
    /// Connections open at once from one client address (not applied to trusted proxies).
    pub max_connections_per_client: usize,
    /// Time a client has to send a complete request head; also how long an idle keep-alive
    /// connection stays open.
    pub header_read_timeout: Duration,
    /// Largest request head (request line and headers) accepted.
    pub max_head_bytes: usize,
}

impl Default for EdgeLimits {
    fn default() -> Self {
        EdgeLimits {
            max_connections: 4096,
            max_connections_per_client: 256,
            header_read_timeout: Duration::from_secs(10),
            max_head_bytes: 64 * 1024,
        }
    }
}

/// Open connections per client address.
#[derive(Default)]
struct PerClient {
    open: Mutex<HashMap<IpAddr, usize>>,
}

impl PerClient {
    fn try_open(&self, ip: IpAddr, max: usize) -> bool {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        let n = open.entry(ip).or_default();
        if *n >= max {
            return false;
        }
        *n += 1;
        true
    }

    fn close(&self, ip: IpAddr) {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = open.get_mut(&ip) {
            *n -= 1;
            if *n == 0 {
                open.remove(&ip);
            }
        }
    }
}

/// Serves `app` on `listener` until `stop` is cancelled, then drains for at most `drain_timeout`
/// and closes the connections still open. Each request carries `ConnectInfo<SocketAddr>`.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: EdgeLimits,
    unlimited_peers: Vec<ipnet::IpNet>,
    stop: CancellationToken,
    drain_timeout: Duration,
) -> std::io::Result<()> {
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .max_buf_size(limits.max_head_bytes.max(8192));
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let per_client = Arc::new(PerClient::default());
    let graceful = GracefulShutdown::new();
    let mut connections = JoinSet::new();
    loop {
        while connections.try_join_next().is_some() {}
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => slot.expect("the semaphore is never closed"),
            () = stop.cancelled() => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = stop.cancelled() => break,
        };
        let limited = !unlimited_peers.iter().any(|net| net.contains(&peer.ip()));
        if limited && !per_client.try_open(peer.ip(), limits.max_connections_per_client) {
            tracing::debug!(peer = %peer.ip(), "too many connections from one client; closing");
            continue;
        }
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let service =
            TowerToHyperService::new(tower::service_fn(move |mut request: hyper::Request<Incoming>| {
                request.extensions_mut().insert(ConnectInfo(peer));
                app.clone().oneshot(request)
            }));
        let connection = graceful.watch(http.serve_connection(TokioIo::new(EdgeStream(stream)), service));
        let per_client = per_client.clone();
        connections.spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(peer = %peer, error = %e, "connection ended with an error");
            }
            if limited {
                per_client.close(peer.ip());
            }
            drop(slot);
        });
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(drain_timeout) => {
            tracing::warn!(timeout = ?drain_timeout, open = connections.len(), "drain timeout reached; closing remaining connections");
        }
    }
    connections.shutdown().await;
    Ok(())
}

/// A client connection that sends slices of shared-memory segments with `sendfile(2)` instead
/// of copying them (`relay::shm`); everything else is plain socket I/O.
struct EdgeStream(TcpStream);

impl EdgeStream {
    /// Sends `len` bytes of the mapping `at` (`(fd, offset)`, from `shm::locate`) without copying them.
    fn poll_send_mapped(
        &self,
        cx: &mut Context<'_>,
        at: (i32, usize),
        len: usize,
    ) -> Poll<io::Result<usize>> {
        loop {
            std::task::ready!(self.0.poll_write_ready(cx))?;
            match self.0.try_io(Interest::WRITABLE, || shm::send_mapped(self.0.as_raw_fd(), at, len)) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                result => return Poll::Ready(result),
            }
        }
    }

    /// `sendmsg(2)` with `MSG_MORE`: more data follows at once.
    fn poll_send_more(&self, cx: &mut Context<'_>, bufs: &[io::IoSlice<'_>]) -> Poll<io::Result<usize>> {
        use rustix::net::{SendAncillaryBuffer, SendFlags, sendmsg};
        loop {
            std::task::ready!(self.0.poll_write_ready(cx))?;
            let sent = self.0.try_io(Interest::WRITABLE, || {
                Ok(sendmsg(
                    &self.0,
                    bufs,
                    &mut SendAncillaryBuffer::default(),
                    SendFlags::MORE | SendFlags::NOSIGNAL,
                )?)
            });
            match sent {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                result => return Poll::Ready(result),
            }
        }
    }
}

impl AsyncRead for EdgeStream {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().0).poll_read(cx, buf)
    }
}

impl AsyncWrite for EdgeStream {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        match shm::locate(buf) {
            Some(at) => self.poll_send_mapped(cx, at, buf.len()),
            None => Pin::new(&mut self.get_mut().0).poll_write(cx, buf),
        }
    }

    /// Writes the leading unmapped buffers with one `writev`, or, when the first buffer is
    /// mapped, sends it and the mapped buffers that continue it in the same file with one
    /// `sendfile`.
    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let Some(first) = bufs.iter().position(|b| !b.is_empty()) else { return Poll::Ready(Ok(0)) };
        let bufs = &bufs[first..];
        if let Some(at) = shm::locate(&bufs[0]) {
            let mut len = bufs[0].len();
            for next in &bufs[1..] {
                match shm::locate(next) {
                    Some((fd, offset)) if fd == at.0 && offset == at.1 + len => len += next.len(),
                    _ => break,
                }
            }
            return self.poll_send_mapped(cx, at, len);
        }
        match bufs.iter().position(|b| shm::locate(b).is_some()) {
            // The response head before a mapped body: held back (`MSG_MORE`) to leave in the
            // same packets as the body's start, like `TCP_CORK` around a header and `sendfile`.
            Some(mapped) => self.poll_send_more(cx, &bufs[..mapped]),
            None => Pin::new(&mut self.get_mut().0).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().0).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().0).poll_shutdown(cx)
    }
}

/// The peer address of a request served by [`serve`] (unspecified when absent, e.g. in unit tests).
pub fn peer(request: &axum::extract::Request) -> SocketAddr {
    request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(SocketAddr::from(([0, 0, 0, 0], 0)), |ConnectInfo(addr)| *addr)
}
