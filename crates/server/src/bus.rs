//! Routing of frames to the connections of a user. [`Bus`] is the seam where a
//! Redis-backed implementation lets several server nodes share routing; the
//! in-process [`LocalBus`] is the embedded default.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use axum::extract::ws::Utf8Bytes;
use tokio::sync::Notify;

/// A text frame, encoded once and shared by every connection it goes to.
pub type Frame = Utf8Bytes;

/// Identifies one connection of this server.
pub type ConnId = u64;

/// Frames waiting to be written to one connection. It allocates nothing while
/// empty, which keeps idle connections small.
#[derive(Debug, Default)]
pub struct Outbox {
    queue: Mutex<VecDeque<Frame>>,
    ready: Notify,
    overflowed: AtomicBool,
}

/// Frames one connection may have queued before it counts as too slow and is closed.
const MAX_QUEUED: usize = 1024;

impl Outbox {
    /// Queues a frame; a connection that falls too far behind is marked to be closed.
    pub fn push(&self, frame: Frame) {
        let mut queue = self.queue.lock().unwrap_or_else(|p| p.into_inner());
        if queue.len() >= MAX_QUEUED {
            self.overflowed.store(true, Ordering::Relaxed);
        } else {
            queue.push_back(frame);
        }
        drop(queue);
        self.ready.notify_one();
    }

    /// Waits until frames are queued.
    pub async fn ready(&self) {
        self.ready.notified().await;
    }

    /// Takes every queued frame.
    pub fn drain(&self) -> VecDeque<Frame> {
        std::mem::take(&mut *self.queue.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// Whether the connection fell too far behind and must be closed.
    pub fn overflowed(&self) -> bool {
        self.overflowed.load(Ordering::Relaxed)
    }
}

/// Delivers frames to the connections of users.
pub trait Bus: Send + Sync + 'static {
    /// Registers a connection of `user`; returns how many connections the user has now.
    fn attach(&self, user: &str, conn: ConnId, outbox: Arc<Outbox>) -> usize;
    /// Unregisters a connection; returns how many connections the user still has.
    fn detach(&self, user: &str, conn: ConnId) -> usize;
    /// Sends to every connection of `user` except `skip`; returns how many got it.
    fn send_user(&self, user: &str, frame: &Frame, skip: Option<ConnId>) -> usize;
    /// Sends to one connection; returns whether it exists.
    fn send_conn(&self, user: &str, conn: ConnId, frame: &Frame) -> bool;
    /// Whether `user` has at least one connection.
    fn is_online(&self, user: &str) -> bool;
    /// The connections of `user`, oldest first.
    fn connections(&self, user: &str) -> Vec<ConnId>;
}

/// The connections of each online user.
type Routes = HashMap<String, Vec<(ConnId, Arc<Outbox>)>>;

/// The in-process bus.
#[derive(Debug, Default)]
pub struct LocalBus {
    users: Mutex<Routes>,
}

impl LocalBus {
    fn users(&self) -> std::sync::MutexGuard<'_, Routes> {
        self.users.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Bus for LocalBus {
    fn attach(&self, user: &str, conn: ConnId, outbox: Arc<Outbox>) -> usize {
        let mut users = self.users();
        let conns = users.entry(user.to_string()).or_default();
        conns.push((conn, outbox));
        conns.len()
    }

    fn detach(&self, user: &str, conn: ConnId) -> usize {
        let mut users = self.users();
        let Some(conns) = users.get_mut(user) else { return 0 };
        conns.retain(|(id, _)| *id != conn);
        let left = conns.len();
        if left == 0 {
            users.remove(user);
        }
        left
    }

    fn send_user(&self, user: &str, frame: &Frame, skip: Option<ConnId>) -> usize {
        let users = self.users();
        let Some(conns) = users.get(user) else { return 0 };
        let mut sent = 0;
        for (id, outbox) in conns {
            if Some(*id) != skip {
                outbox.push(frame.clone());
                sent += 1;
            }
        }
        sent
    }

    fn send_conn(&self, user: &str, conn: ConnId, frame: &Frame) -> bool {
        let users = self.users();
        let found = users.get(user).and_then(|conns| conns.iter().find(|(id, _)| *id == conn));
        if let Some((_, outbox)) = found {
            outbox.push(frame.clone());
        }
        found.is_some()
    }

    fn is_online(&self, user: &str) -> bool {
        self.users().contains_key(user)
    }

    fn connections(&self, user: &str) -> Vec<ConnId> {
        self.users().get(user).map(|conns| conns.iter().map(|(id, _)| *id).collect()).unwrap_or_default()
    }
}
