//! Durable state behind one small interface ([`Store`]) so another backend
//! (PostgreSQL for several nodes) can replace the embedded SQLite one without
//! touching the handlers.

use std::path::Path;
use std::sync::Mutex;

use duet_protocol::{CallOutcome, CallType, Direction, HistoryEntry, Outcome};
use rusqlite::{Connection, OptionalExtension, params};

use crate::{Error, Result};

/// An account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRecord {
    pub id: String,
    pub display_name: String,
    pub avatar_url: Option<String>,
    pub password_hash: String,
}

/// An invitation as kept on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredInvitation {
    pub id: String,
    pub inviter: String,
    /// Invitees and their outcomes, in invitation order.
    pub invitees: Vec<(String, Outcome)>,
    pub room_id: Option<String>,
    pub data: String,
    pub call_type: CallType,
    /// Unix ms.
    pub created_at: u64,
    /// Unix ms; `None` never expires.
    pub expires_at: Option<u64>,
    pub push_title: String,
    pub push_desc: String,
    pub push_ext: String,
}

/// One history row: one call as seen by one user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryRow {
    pub user: String,
    pub entry: HistoryEntry,
}

/// Where an outgoing POST goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryKind {
    Webhook,
    Push,
}

impl DeliveryKind {
    fn as_str(self) -> &'static str {
        match self {
            DeliveryKind::Webhook => "webhook",
            DeliveryKind::Push => "push",
        }
    }
}

/// An outgoing signed POST that has not been answered with 2xx yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// The `webhook-id`, stable across retries.
    pub id: String,
    pub kind: DeliveryKind,
    pub url: String,
    pub body: String,
    /// Unix ms.
    pub created_at: u64,
    pub attempts: u32,
    /// Unix ms.
    pub next_at: u64,
}

/// Durable state of the server.
pub trait Store: Send + Sync + 'static {
    fn create_user(&self, user: &UserRecord) -> Result<()>;
    fn user(&self, id: &str) -> Result<Option<UserRecord>>;
    fn users(&self) -> Result<Vec<UserRecord>>;
    /// Removes a user; returns whether it existed.
    fn remove_user(&self, id: &str) -> Result<bool>;
    fn set_password(&self, id: &str, password_hash: &str) -> Result<bool>;

    fn contacts(&self, owner: &str) -> Result<Vec<UserRecord>>;
    fn add_contact(&self, owner: &str, contact: &str) -> Result<()>;
    /// Returns whether the contact was there.
    fn remove_contact(&self, owner: &str, contact: &str) -> Result<bool>;

    /// Inserts or replaces an invitation with its current outcomes.
    fn save_invitation(&self, invitation: &StoredInvitation) -> Result<()>;
    /// Every invitation with at least one pending invitee.
    fn open_invitations(&self) -> Result<Vec<StoredInvitation>>;

    /// Inserts or replaces one user's view of a call.
    fn record_call(&self, row: &HistoryRow) -> Result<()>;
    fn set_call_duration(&self, user: &str, invite_id: &str, duration_s: u64) -> Result<()>;
    /// Newest first, calls that started before `before` (unix ms).
    fn history(&self, user: &str, limit: u32, before: Option<u64>) -> Result<Vec<HistoryEntry>>;

    fn enqueue_delivery(&self, delivery: &Delivery) -> Result<()>;
    /// Deliveries due at `now`, oldest first.
    fn due_deliveries(&self, now: u64, limit: u32) -> Result<Vec<Delivery>>;
    /// When the next delivery is due.
    fn next_delivery_at(&self) -> Result<Option<u64>>;
    fn reschedule_delivery(&self, id: &str, url: &str, attempts: u32, next_at: u64) -> Result<()>;
    fn remove_delivery(&self, id: &str, url: &str) -> Result<()>;
}

/// The embedded SQLite store.
#[derive(Debug)]
pub struct SqliteStore {
    conn: Mutex<Connection>,
    /// Held for its lifetime: dropping it stops the checkpoint thread.
    _checkpointer: Checkpointer,
}

/// Runs WAL checkpoints (and their fsync) on a thread and connection of its own,
/// so a checkpoint never stalls a request that holds the store.
#[derive(Debug)]
struct Checkpointer {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl Checkpointer {
    const EVERY: std::time::Duration = std::time::Duration::from_millis(500);

    fn start(path: std::path::PathBuf) -> Result<Checkpointer> {
        let conn = Connection::open(path)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = stop.clone();
        std::thread::Builder::new().name("duet-wal-checkpoint".into()).spawn(move || {
            while !flag.load(std::sync::atomic::Ordering::Relaxed) {
                std::thread::sleep(Self::EVERY);
                if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
                    tracing::warn!("WAL checkpoint failed: {e}");
                }
            }
        })?;
        Ok(Checkpointer { stop })
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

/// Schema versions, applied in order; `PRAGMA user_version` records how many ran.
const MIGRATIONS: &[&str] = &[r#"
CREATE TABLE users (
    id TEXT PRIMARY KEY,
    display_name TEXT NOT NULL,
    avatar_url TEXT,
    password_hash TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE TABLE contacts (
    owner TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    contact TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    PRIMARY KEY (owner, contact)
);
CREATE TABLE invitations (
    id TEXT PRIMARY KEY,
    inviter TEXT NOT NULL,
    room_id TEXT,
    data TEXT NOT NULL,
    call_type TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER,
    push_title TEXT NOT NULL,
    push_desc TEXT NOT NULL,
    push_ext TEXT NOT NULL,
    open INTEGER NOT NULL
);
CREATE INDEX invitations_open ON invitations(open) WHERE open = 1;
CREATE TABLE invitees (
    invite_id TEXT NOT NULL REFERENCES invitations(id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    user_id TEXT NOT NULL,
    outcome TEXT NOT NULL,
    PRIMARY KEY (invite_id, user_id)
);
CREATE TABLE history (
    user_id TEXT NOT NULL,
    invite_id TEXT NOT NULL,
    peer TEXT NOT NULL,
    direction TEXT NOT NULL,
    call_type TEXT NOT NULL,
    outcome TEXT NOT NULL,
    started_at INTEGER NOT NULL,
    duration_s INTEGER NOT NULL,
    PRIMARY KEY (user_id, invite_id, peer)
);
CREATE INDEX history_by_user ON history(user_id, started_at);
CREATE TABLE deliveries (
    id TEXT NOT NULL,
    url TEXT NOT NULL,
    kind TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    attempts INTEGER NOT NULL,
    next_at INTEGER NOT NULL,
    PRIMARY KEY (id, url)
);
CREATE INDEX deliveries_due ON deliveries(next_at);
"#];

impl SqliteStore {
    /// Opens (creating and migrating) `dir/duet.sqlite3`.
    pub fn open(dir: &Path) -> Result<SqliteStore> {
        std::fs::create_dir_all(dir)?;
        let path = dir.join("duet.sqlite3");
        let conn = Connection::open(&path)?;
        // WAL without a sync per commit: a crash may lose the last moments, never corrupts.
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", true)?;
        conn.pragma_update(None, "wal_autocheckpoint", 0)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        migrate(&conn)?;
        let checkpointer = Checkpointer::start(path)?;
        Ok(SqliteStore { conn: Mutex::new(conn), _checkpointer: checkpointer })
    }

    fn with<T>(&self, f: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> Result<T> {
        let conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        Ok(f(&conn)?)
    }
}

fn migrate(conn: &Connection) -> Result<()> {
    let done: usize = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(done) {
        conn.execute_batch(&format!("BEGIN; {sql}; PRAGMA user_version = {}; COMMIT;", i + 1))?;
    }
    Ok(())
}

fn user_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<UserRecord> {
    Ok(UserRecord { id: row.get(0)?, display_name: row.get(1)?, avatar_url: row.get(2)?, password_hash: row.get(3)? })
}

fn call_type_of(text: &str) -> CallType {
    if text == "audio" { CallType::Audio } else { CallType::Video }
}

fn direction_of(text: &str) -> Direction {
    if text == "in" { Direction::In } else { Direction::Out }
}

impl Store for SqliteStore {
    fn create_user(&self, user: &UserRecord) -> Result<()> {
        let inserted = self.with(|c| {
            c.execute(
                "INSERT OR IGNORE INTO users (id, display_name, avatar_url, password_hash, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![user.id, user.display_name, user.avatar_url, user.password_hash, crate::now_ms() as i64],
            )
        })?;
        if inserted == 0 { Err(Error::UserExists(user.id.clone())) } else { Ok(()) }
    }

    fn user(&self, id: &str) -> Result<Option<UserRecord>> {
        self.with(|c| {
            c.query_row(
                "SELECT id, display_name, avatar_url, password_hash FROM users WHERE id = ?1",
                [id],
                user_from_row,
            )
            .optional()
        })
    }

    fn users(&self) -> Result<Vec<UserRecord>> {
        self.with(|c| {
            let mut stmt = c.prepare("SELECT id, display_name, avatar_url, password_hash FROM users ORDER BY id")?;
            stmt.query_map([], user_from_row)?.collect()
        })
    }

    fn remove_user(&self, id: &str) -> Result<bool> {
        Ok(self.with(|c| c.execute("DELETE FROM users WHERE id = ?1", [id]))? > 0)
    }

    fn set_password(&self, id: &str, password_hash: &str) -> Result<bool> {
        Ok(self.with(|c| c.execute("UPDATE users SET password_hash = ?2 WHERE id = ?1", [id, password_hash]))? > 0)
    }

    fn contacts(&self, owner: &str) -> Result<Vec<UserRecord>> {
        self.with(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT u.id, u.display_name, u.avatar_url, u.password_hash FROM contacts k JOIN users u ON u.id = k.contact
                 WHERE k.owner = ?1 ORDER BY u.display_name, u.id",
            )?;
            stmt.query_map([owner], user_from_row)?.collect()
        })
    }

    fn add_contact(&self, owner: &str, contact: &str) -> Result<()> {
        self.with(|c| c.execute("INSERT OR IGNORE INTO contacts (owner, contact) VALUES (?1, ?2)", [owner, contact]))?;
        Ok(())
    }

    fn remove_contact(&self, owner: &str, contact: &str) -> Result<bool> {
        Ok(self.with(|c| c.execute("DELETE FROM contacts WHERE owner = ?1 AND contact = ?2", [owner, contact]))? > 0)
    }

    fn save_invitation(&self, inv: &StoredInvitation) -> Result<()> {
        let open = inv.invitees.iter().any(|(_, o)| *o == Outcome::Pending);
        self.with(|c| {
            let tx = c.unchecked_transaction()?;
            tx.prepare_cached(
                "INSERT INTO invitations (id, inviter, room_id, data, call_type, created_at, expires_at, push_title, push_desc, push_ext, open)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
                 ON CONFLICT (id) DO UPDATE SET open = excluded.open",
            )?
            .execute(params![
                inv.id,
                inv.inviter,
                inv.room_id,
                inv.data,
                inv.call_type.as_str(),
                inv.created_at as i64,
                inv.expires_at.map(|e| e as i64),
                inv.push_title,
                inv.push_desc,
                inv.push_ext,
                open,
            ])?;
            let mut stmt = tx.prepare_cached(
                "INSERT INTO invitees (invite_id, position, user_id, outcome) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (invite_id, user_id) DO UPDATE SET outcome = excluded.outcome",
            )?;
            for (position, (user, outcome)) in inv.invitees.iter().enumerate() {
                stmt.execute(params![inv.id, position as i64, user, outcome.as_str()])?;
            }
            drop(stmt);
            tx.commit()
        })
    }

    fn open_invitations(&self) -> Result<Vec<StoredInvitation>> {
        self.with(|c| {
            let mut stmt = c.prepare(
                "SELECT id, inviter, room_id, data, call_type, created_at, expires_at, push_title, push_desc, push_ext
                 FROM invitations WHERE open = 1 ORDER BY created_at",
            )?;
            let mut invitations: Vec<StoredInvitation> = stmt
                .query_map([], |r| {
                    Ok(StoredInvitation {
                        id: r.get(0)?,
                        inviter: r.get(1)?,
                        invitees: Vec::new(),
                        room_id: r.get(2)?,
                        data: r.get(3)?,
                        call_type: call_type_of(&r.get::<_, String>(4)?),
                        created_at: r.get::<_, i64>(5)? as u64,
                        expires_at: r.get::<_, Option<i64>>(6)?.map(|e| e as u64),
                        push_title: r.get(7)?,
                        push_desc: r.get(8)?,
                        push_ext: r.get(9)?,
                    })
                })?
                .collect::<rusqlite::Result<_>>()?;
            let mut invitees =
                c.prepare("SELECT user_id, outcome FROM invitees WHERE invite_id = ?1 ORDER BY position")?;
            for inv in &mut invitations {
                inv.invitees = invitees
                    .query_map([&inv.id], |r| {
                        let outcome: String = r.get(1)?;
                        Ok((r.get(0)?, Outcome::parse(&outcome).unwrap_or(Outcome::Pending)))
                    })?
                    .collect::<rusqlite::Result<_>>()?;
            }
            Ok(invitations)
        })
    }

    fn record_call(&self, row: &HistoryRow) -> Result<()> {
        let e = &row.entry;
        self.with(|c| {
            c.prepare_cached(
                "INSERT OR REPLACE INTO history (user_id, invite_id, peer, direction, call_type, outcome, started_at, duration_s)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )?
            .execute(params![
                row.user,
                e.invite_id,
                e.peer,
                if e.direction == Direction::In { "in" } else { "out" },
                e.call_type.as_str(),
                e.outcome.as_str(),
                e.started_at as i64,
                e.duration_s as i64,
            ])
        })?;
        Ok(())
    }

    fn set_call_duration(&self, user: &str, invite_id: &str, duration_s: u64) -> Result<()> {
        self.with(|c| {
            c.prepare_cached("UPDATE history SET duration_s = ?3 WHERE user_id = ?1 AND invite_id = ?2")?
                .execute(params![user, invite_id, duration_s as i64])
        })?;
        Ok(())
    }

    fn history(&self, user: &str, limit: u32, before: Option<u64>) -> Result<Vec<HistoryEntry>> {
        let before = before.map_or(i64::MAX, |b| b as i64);
        self.with(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT invite_id, peer, direction, call_type, outcome, started_at, duration_s FROM history
                 WHERE user_id = ?1 AND started_at < ?2 ORDER BY started_at DESC LIMIT ?3",
            )?;
            stmt.query_map(params![user, before, limit as i64], |r| {
                let outcome: String = r.get(4)?;
                Ok(HistoryEntry {
                    invite_id: r.get(0)?,
                    peer: r.get(1)?,
                    direction: direction_of(&r.get::<_, String>(2)?),
                    call_type: call_type_of(&r.get::<_, String>(3)?),
                    outcome: CallOutcome::parse(&outcome).unwrap_or(CallOutcome::Missed),
                    started_at: r.get::<_, i64>(5)? as u64,
                    duration_s: r.get::<_, i64>(6)? as u64,
                })
            })?
            .collect()
        })
    }

    fn enqueue_delivery(&self, d: &Delivery) -> Result<()> {
        self.with(|c| {
            c.prepare_cached(
                "INSERT OR IGNORE INTO deliveries (id, url, kind, body, created_at, attempts, next_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?
            .execute(params![d.id, d.url, d.kind.as_str(), d.body, d.created_at as i64, d.attempts, d.next_at as i64])
        })?;
        Ok(())
    }

    fn due_deliveries(&self, now: u64, limit: u32) -> Result<Vec<Delivery>> {
        self.with(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT id, url, kind, body, created_at, attempts, next_at FROM deliveries WHERE next_at <= ?1 ORDER BY next_at LIMIT ?2",
            )?;
            stmt.query_map(params![now as i64, limit as i64], |r| {
                let kind: String = r.get(2)?;
                Ok(Delivery {
                    id: r.get(0)?,
                    url: r.get(1)?,
                    kind: if kind == "push" { DeliveryKind::Push } else { DeliveryKind::Webhook },
                    body: r.get(3)?,
                    created_at: r.get::<_, i64>(4)? as u64,
                    attempts: r.get(5)?,
                    next_at: r.get::<_, i64>(6)? as u64,
                })
            })?
            .collect()
        })
    }

    fn next_delivery_at(&self) -> Result<Option<u64>> {
        self.with(|c| {
            c.query_row("SELECT MIN(next_at) FROM deliveries", [], |r| r.get::<_, Option<i64>>(0))
                .map(|v| v.map(|v| v as u64))
        })
    }

    fn reschedule_delivery(&self, id: &str, url: &str, attempts: u32, next_at: u64) -> Result<()> {
        self.with(|c| {
            c.prepare_cached("UPDATE deliveries SET attempts = ?3, next_at = ?4 WHERE id = ?1 AND url = ?2")?
                .execute(params![id, url, attempts, next_at as i64])
        })?;
        Ok(())
    }

    fn remove_delivery(&self, id: &str, url: &str) -> Result<()> {
        self.with(|c| c.prepare_cached("DELETE FROM deliveries WHERE id = ?1 AND url = ?2")?.execute([id, url]))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(id: &str) -> UserRecord {
        UserRecord { id: id.into(), display_name: id.to_uppercase(), avatar_url: None, password_hash: "h".into() }
    }

    #[test]
    fn invitations_and_deliveries_survive_reopening() {
        let dir = tempfile::tempdir().expect("tempdir");
        let inv = StoredInvitation {
            id: "i1".into(),
            inviter: "alice".into(),
            invitees: vec![("bob".into(), Outcome::Pending), ("carol".into(), Outcome::Rejected)],
            room_id: Some("r1".into()),
            data: "{}".into(),
            call_type: CallType::Audio,
            created_at: 5,
            expires_at: Some(60_005),
            push_title: "Alice".into(),
            push_desc: "call".into(),
            push_ext: String::new(),
        };
        {
            let store = SqliteStore::open(dir.path()).expect("open");
            store.create_user(&user("alice")).expect("alice");
            assert!(matches!(store.create_user(&user("alice")), Err(Error::UserExists(_))));
            store.save_invitation(&inv).expect("save");
            store
                .enqueue_delivery(&Delivery {
                    id: "d1".into(),
                    kind: DeliveryKind::Push,
                    url: "http://x".into(),
                    body: "{}".into(),
                    created_at: 1,
                    attempts: 0,
                    next_at: 10,
                })
                .expect("enqueue");
        }
        let store = SqliteStore::open(dir.path()).expect("reopen");
        assert_eq!(store.open_invitations().expect("open invitations"), vec![inv.clone()]);
        assert_eq!(store.due_deliveries(9, 10).expect("due").len(), 0);
        assert_eq!(store.due_deliveries(10, 10).expect("due")[0].kind, DeliveryKind::Push);

        let mut closed = inv;
        closed.invitees[0].1 = Outcome::Timeout;
        store.save_invitation(&closed).expect("close");
        assert!(store.open_invitations().expect("none open").is_empty());
    }
}
