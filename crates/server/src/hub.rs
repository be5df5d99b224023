//! The signaling logic: presence, contacts, invitations, rooms and history.
//!
//! All live state sits behind one lock and every handler is synchronous, so each
//! invitation answer, cancel and timeout is decided atomically: every invitee
//! reaches exactly one outcome, whatever the race.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use duet_protocol::{
    self as p, AvCall, CallOutcome, CallType, ClientMessage, Direction, ErrorCode, HistoryEntry, IceServer, Outcome,
    RejectReason, ServerMessage, Status, perm, webhook,
};
use tokio_util::sync::CancellationToken;

use crate::bus::{Bus, ConnId, Frame, Outbox};
use crate::config::Config;
use crate::crypto::{Signer, TicketClaims, TokenError, turn_credentials};
use crate::deliver::Deliveries;
use crate::metrics::Metrics;
use crate::store::{DeliveryKind, HistoryRow, Store, StoredInvitation};
use crate::{Result, now_ms};

/// One authenticated connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub user: String,
    pub conn: ConnId,
}

/// Most invitees one invitation may name.
const MAX_INVITEES: usize = 16;
/// Most users one connection may watch.
const MAX_SUBSCRIPTIONS: usize = 2000;
/// Most `room.signal`s kept for a member who is away (reconnecting); the newest are kept.
const MAX_HELD_SIGNALS: usize = 64;

/// The shared server state and its handlers.
#[derive(Debug)]
pub struct Hub {
    pub config: Config,
    pub store: Arc<dyn Store>,
    pub bus: Arc<dyn crate::bus::Bus>,
    pub signer: Signer,
    pub metrics: Arc<Metrics>,
    pub deliveries: Arc<Deliveries>,
    /// Cancelled when the server stops; timers end with it.
    pub stop: CancellationToken,
    next_conn: AtomicU64,
    state: Mutex<State>,
}

impl std::fmt::Debug for dyn Bus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Bus")
    }
}

#[derive(Debug, Default)]
struct State {
    invitations: HashMap<String, Invitation>,
    /// Invitee → ids of invitations still pending for them.
    pending: HashMap<String, HashSet<String>>,
    rooms: HashMap<String, Room>,
    /// User → rooms they are a member of (they are busy while in one).
    in_rooms: HashMap<String, HashSet<String>>,
    /// Watched user → the connections watching them.
    watchers: HashMap<String, HashMap<ConnId, String>>,
    /// Connection → users it watches.
    watching: HashMap<ConnId, HashSet<String>>,
    /// Last status announced per user; absent means offline.
    announced: HashMap<String, Status>,
    /// The echo user's taken lines (one connection each) and what each serves.
    lines: HashMap<ConnId, Line>,
    /// Invitations settled lately, for answers that cross them.
    closed: Closed,
}

/// How long a settled invitation is remembered for answers that crossed it.
const REMEMBER_CLOSED: Duration = Duration::from_secs(120);
/// Most settled invitations remembered.
const MAX_CLOSED: usize = 4096;

/// Invitations settled in the last [`REMEMBER_CLOSED`]: an accept that crossed the
/// inviter's cancel, or a cancel that crossed the accept, finds here how the
/// invitation ended.
#[derive(Debug, Default)]
struct Closed {
    by_id: HashMap<String, Invitation>,
    /// Ids by when they closed (unix ms), oldest first.
    order: VecDeque<(u64, String)>,
    /// Rooms of answered calls that everybody left, by when (unix ms): a member
    /// still on its way in is told the call is over instead of waiting alone.
    ended_rooms: HashMap<String, u64>,
}

impl Closed {
    fn remember(&mut self, inv: Invitation, now: u64) {
        while self.order.front().is_some_and(|(at, _)| at + (REMEMBER_CLOSED.as_millis() as u64) < now)
            || self.order.len() >= MAX_CLOSED
        {
            let Some((_, id)) = self.order.pop_front() else { break };
            self.by_id.remove(&id);
        }
        self.order.push_back((now, inv.stored.id.clone()));
        self.by_id.insert(inv.stored.id.clone(), inv);
    }

    fn room_ended(&mut self, room_id: &str, now: u64) {
        let keep = REMEMBER_CLOSED.as_millis() as u64;
        self.ended_rooms.retain(|_, at| *at + keep >= now);
        if self.ended_rooms.len() < MAX_CLOSED {
            self.ended_rooms.insert(room_id.to_owned(), now);
        }
    }

    /// The cancelled invitation whose room this is, if any.
    fn cancelled_room(&self, room_id: &str) -> Option<&Invitation> {
        self.by_id.values().find(|inv| {
            inv.stored.room_id.as_deref() == Some(room_id)
                && inv.stored.invitees.iter().all(|(_, o)| *o != Outcome::Accepted)
                && inv.stored.invitees.iter().any(|(_, o)| *o == Outcome::Cancelled)
        })
    }
}

/// What a taken line of the echo user serves: it takes one call at a time.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Line {
    /// It rings for this invitation.
    Ringing(String),
    /// It answered and is in this room (or on its way in).
    InRoom(String),
}

#[derive(Debug)]
struct Invitation {
    stored: StoredInvitation,
    online_only: bool,
}

impl Invitation {
    fn outcome_of(&mut self, user: &str) -> Option<&mut Outcome> {
        self.stored.invitees.iter_mut().find(|(u, _)| u == user).map(|(_, o)| o)
    }

    fn is_open(&self) -> bool {
        self.stored.invitees.iter().any(|(_, o)| *o == Outcome::Pending)
    }
}

#[derive(Debug)]
struct Room {
    invite_id: Option<String>,
    /// Users allowed in; empty when the room's invitation is unknown (after a restart).
    allowed: Vec<String>,
    members: Vec<Member>,
    /// Whether anyone has joined yet.
    used: bool,
    /// Whether an invitee accepted: from then on its members are in a call (busy).
    accepted: bool,
}

#[derive(Debug)]
struct Member {
    user: String,
    conn: ConnId,
    /// When the remote member was first present together with this one (unix ms).
    peer_seen_at: Option<u64>,
    audio: bool,
    video: bool,
    /// Bumped on every disconnect so a stale watchdog does nothing.
    generation: u64,
    gone: bool,
    /// `room.signal`s that came for the member while it was away, oldest first:
    /// delivered when it joins again.
    held: VecDeque<Frame>,
}

type Reply = ServerMessage;

fn error(req: Option<u64>, code: ErrorCode, message: impl Into<String>) -> Reply {
    ServerMessage::error(req, code, message)
}

fn frame(msg: &ServerMessage) -> Frame {
    Frame::from(msg.encode())
}

impl Hub {
    pub fn new(config: Config, store: Arc<dyn Store>, bus: Arc<dyn Bus>, signer: Signer) -> Hub {
        let metrics = Arc::new(Metrics::default());
        let deliveries =
            Arc::new(Deliveries::new(store.clone(), config.webhooks.clone(), config.push.clone(), metrics.clone()));
        Hub {
            config,
            store,
            bus,
            signer,
            metrics,
            deliveries,
            stop: CancellationToken::new(),
            next_conn: AtomicU64::new(1),
            state: Mutex::new(State::default()),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Loads the open invitations from the store: expired ones time out now, the
    /// others ring again when their invitees connect and time out on schedule.
    pub fn restore(self: &Arc<Self>) -> Result<()> {
        let now = now_ms();
        for stored in self.store.open_invitations()? {
            let id = stored.id.clone();
            let expires_at = stored.expires_at;
            let mut st = self.state();
            for (user, outcome) in &stored.invitees {
                if *outcome == Outcome::Pending {
                    st.pending.entry(user.clone()).or_default().insert(id.clone());
                }
            }
            if let Some(room_id) = &stored.room_id {
                st.rooms.insert(room_id.clone(), Room::for_invitation(&stored));
            }
            st.invitations.insert(id.clone(), Invitation { stored, online_only: false });
            drop(st);
            match expires_at {
                Some(at) if at <= now => self.expire(&id),
                Some(at) => self.schedule_expiry(id, at),
                None => {}
            }
        }
        Ok(())
    }

    /// A fresh connection id.
    pub fn next_conn_id(&self) -> ConnId {
        self.next_conn.fetch_add(1, Ordering::Relaxed)
    }

    /// Registers an authenticated connection and rings it for every pending invitation.
    pub fn connect(&self, session: &Session, outbox: Arc<Outbox>) {
        self.metrics.connection_opened();
        self.bus.attach(&session.user, session.conn, outbox.clone());
        let mut st = self.state();
        self.announce(&mut st, &session.user);
        let now = now_ms();
        let Some(ids) = st.pending.get(&session.user) else { return };
        let mut ringing: Vec<&Invitation> = ids
            .iter()
            .filter_map(|id| st.invitations.get(id))
            .filter(|inv| !inv.online_only && inv.stored.expires_at.is_none_or(|at| at > now))
            .collect();
        ringing.sort_by_key(|inv| inv.stored.created_at);
        if !self.has_lines(&session.user) {
            for inv in ringing {
                outbox.push(frame(&invitation_event(&inv.stored)));
            }
            return;
        }
        // A new line takes the oldest invitation that no other line rings for.
        let Some(inv) = ringing.into_iter().find(|inv| line_of(&st, &inv.stored.id).is_none()) else { return };
        let (id, event) = (inv.stored.id.clone(), frame(&invitation_event(&inv.stored)));
        st.lines.insert(session.conn, Line::Ringing(id));
        outbox.push(event);
    }

    /// Unregisters a connection. Rooms keep a vanished member until the watchdog fires.
    pub fn disconnect(self: &Arc<Self>, session: &Session) {
        self.metrics.connection_closed();
        self.bus.detach(&session.user, session.conn);
        let mut st = self.state();
        if let Some(watched) = st.watching.remove(&session.conn) {
            for user in watched {
                if let Some(w) = st.watchers.get_mut(&user) {
                    w.remove(&session.conn);
                    if w.is_empty() {
                        st.watchers.remove(&user);
                    }
                }
            }
        }
        let rooms: Vec<String> = st.in_rooms.get(&session.user).into_iter().flatten().cloned().collect();
        for room_id in rooms {
            let Some(room) = st.rooms.get_mut(&room_id) else { continue };
            let Some(member) = room.members.iter_mut().find(|m| m.user == session.user && m.conn == session.conn)
            else {
                continue;
            };
            member.gone = true;
            member.generation += 1;
            let generation = member.generation;
            // The others can say so ("Bob's connection dropped — waiting…") until the
            // member is back or the watchdog lets it go.
            let away = p::MemberAway { room_id: room_id.clone(), user: session.user.clone() };
            self.tell_others(room, &session.user, &ServerMessage::MemberAway(away));
            self.schedule_watchdog(room_id, session.user.clone(), generation);
        }
        // A line that goes while it rings hands its invitation to another free line.
        if let Some(Line::Ringing(invite_id)) = st.lines.remove(&session.conn)
            && let Some(inv) = st.invitations.get(&invite_id)
        {
            let event = frame(&invitation_event(&inv.stored));
            self.ring_free_line(&mut st, &session.user, &invite_id, &event);
        }
        self.announce(&mut st, &session.user);
    }

    /// Handles one request of an authenticated connection; returns the reply, if any.
    pub fn handle(self: &Arc<Self>, s: &Session, msg: ClientMessage) -> Option<Reply> {
        let req = msg.req();
        let reply = match msg {
            ClientMessage::Auth(_) => error(None, ErrorCode::BadRequest, "already authenticated"),
            ClientMessage::PresenceQuery(m) => self.presence_query(m.req, &m.users),
            ClientMessage::PresenceSubscribe(m) => return self.subscribe(s, m.req, m.users),
            ClientMessage::PresenceUnsubscribe(m) => return self.unsubscribe(s, m.req, &m.users),
            ClientMessage::ContactsList(m) => self.contacts(s, m.req),
            ClientMessage::ContactsAdd(m) => self.add_contact(s, m.req, &m.user),
            ClientMessage::ContactsRemove(m) => self.remove_contact(s, m.req, &m.user),
            ClientMessage::Invite(m) => return self.invite(s, m),
            ClientMessage::Accept(m) => self.answer(s, m, true),
            ClientMessage::Reject(m) => self.answer(s, m, false),
            ClientMessage::Cancel(m) => self.cancel(s, m),
            ClientMessage::RoomJoin(m) => return self.join(s, m),
            ClientMessage::RoomSignal(m) => return self.signal(s, m),
            ClientMessage::RoomMedia(m) => return self.media(s, m),
            ClientMessage::RoomLeave(m) => return self.leave(s, m),
            ClientMessage::HistoryList(m) => self.history(s, m),
            ClientMessage::Ping(m) => ServerMessage::Pong(p::Ok { req: m.req }),
            ClientMessage::TokenRenew(m) if !matches!(self.store.user(&s.user), Ok(Some(_))) => {
                error(m.req, ErrorCode::Unauthorized, "this account no longer exists")
            }
            ClientMessage::TokenRenew(m) => {
                let expires_at = now_ms() + self.config.token_ttl.as_millis() as u64;
                let token = self.signer.issue_token(&s.user, expires_at);
                ServerMessage::TokenOk(p::TokenOk { req: m.req, token, expires_at })
            }
        };
        Some(match reply {
            ServerMessage::Error(mut e) => {
                e.req = e.req.or(req);
                ServerMessage::Error(e)
            }
            other => other,
        })
    }

    // ---- presence and contacts ----

    fn status(&self, st: &State, user: &str) -> Status {
        if !self.bus.is_online(user) {
            Status::Offline
        } else if !self.has_lines(user) && st.in_rooms.get(user).is_some_and(|r| !r.is_empty()) {
            Status::Busy
        } else {
            Status::Online
        }
    }

    /// Tells the watchers of `user` when their status changed.
    fn announce(&self, st: &mut State, user: &str) {
        let status = self.status(st, user);
        let before = st.announced.get(user).copied().unwrap_or(Status::Offline);
        if status == before {
            return;
        }
        if status == Status::Offline {
            st.announced.remove(user);
        } else {
            st.announced.insert(user.to_string(), status);
        }
        let Some(watchers) = st.watchers.get(user) else { return };
        let event = frame(&ServerMessage::PresenceChanged(p::PresenceChanged { user: user.into(), status }));
        for (conn, watcher) in watchers {
            self.bus.send_conn(watcher, *conn, &event);
        }
    }

    /// Whether `user` is a member of a room (in a call) on any device.
    pub fn in_call(&self, user: &str) -> bool {
        self.state().in_rooms.get(user).is_some_and(|r| !r.is_empty())
    }

    fn statuses(&self, st: &State, users: &[String]) -> BTreeMap<String, Status> {
        users.iter().map(|u| (u.clone(), self.status(st, u))).collect()
    }

    fn presence_query(&self, req: Option<u64>, users: &[String]) -> Reply {
        let st = self.state();
        ServerMessage::PresenceOk(p::PresenceOk { req, users: self.statuses(&st, users) })
    }

    fn subscribe(&self, s: &Session, req: Option<u64>, users: Vec<String>) -> Option<Reply> {
        let mut st = self.state();
        let count = st.watching.get(&s.conn).map_or(0, HashSet::len);
        if count + users.len() > MAX_SUBSCRIPTIONS {
            return Some(error(
                req,
                ErrorCode::BadRequest,
                format!("at most {MAX_SUBSCRIPTIONS} users can be watched"),
            ));
        }
        for user in &users {
            st.watchers.entry(user.clone()).or_default().insert(s.conn, s.user.clone());
            st.watching.entry(s.conn).or_default().insert(user.clone());
        }
        req.map(|req| ServerMessage::PresenceOk(p::PresenceOk { req: Some(req), users: self.statuses(&st, &users) }))
    }

    fn unsubscribe(&self, s: &Session, req: Option<u64>, users: &[String]) -> Option<Reply> {
        let mut st = self.state();
        for user in users {
            if let Some(w) = st.watchers.get_mut(user) {
                w.remove(&s.conn);
                if w.is_empty() {
                    st.watchers.remove(user);
                }
            }
            if let Some(w) = st.watching.get_mut(&s.conn) {
                w.remove(user);
            }
        }
        req.map(|req| ServerMessage::ok(Some(req)))
    }

    fn contacts(&self, s: &Session, req: Option<u64>) -> Reply {
        let records = match self.store.contacts(&s.user) {
            Ok(records) => records,
            Err(e) => return internal(req, e),
        };
        let st = self.state();
        let contacts = records
            .into_iter()
            .map(|u| p::Contact {
                status: self.status(&st, &u.id),
                user_id: u.id,
                display_name: u.display_name,
                avatar_url: u.avatar_url,
            })
            .collect();
        ServerMessage::ContactsOk(p::ContactsOk { req, contacts })
    }

    fn add_contact(&self, s: &Session, req: Option<u64>, user: &str) -> Reply {
        if user == s.user {
            return error(req, ErrorCode::BadRequest, "you cannot add yourself as a contact");
        }
        if let Some(refusal) = self.require_user(req, user) {
            return refusal;
        }
        match self.store.add_contact(&s.user, user) {
            Ok(()) => ServerMessage::ok(req),
            Err(e) => internal(req, e),
        }
    }

    fn remove_contact(&self, s: &Session, req: Option<u64>, user: &str) -> Reply {
        match self.store.remove_contact(&s.user, user) {
            Ok(true) => ServerMessage::ok(req),
            Ok(false) => error(req, ErrorCode::NotFound, format!("`{user}` is not in your contacts")),
            Err(e) => internal(req, e),
        }
    }

    /// `None` when `user` has an account, otherwise the error reply.
    fn require_user(&self, req: Option<u64>, user: &str) -> Option<Reply> {
        match self.store.user(user) {
            Ok(Some(_)) => None,
            Ok(None) => Some(error(req, ErrorCode::NotFound, format!("no user `{user}`"))),
            Err(e) => Some(internal(req, e)),
        }
    }

    // ---- invitations ----

    /// Starts an invitation. An invitee already in a call on any of their devices is not
    /// rung: they answer `busy` at once, and the inviter hears it right after `invite.ok`
    /// (so this sends the reply itself then, and returns `None`).
    fn invite(self: &Arc<Self>, s: &Session, m: p::Invite) -> Option<Reply> {
        let req = m.req;
        let mut to: Vec<String> = Vec::new();
        for user in m.to {
            if !to.contains(&user) {
                to.push(user);
            }
        }
        if to.is_empty() || to.len() > MAX_INVITEES {
            return Some(error(req, ErrorCode::BadRequest, format!("`to` must name 1 to {MAX_INVITEES} users")));
        }
        if to.contains(&s.user) {
            return Some(error(req, ErrorCode::BadRequest, "you cannot invite yourself"));
        }
        if let Some(refusal) = to.iter().find_map(|user| self.require_user(req, user)) {
            return Some(refusal);
        }
        if let Some(room_id) = &m.room_id
            && !is_valid_room_id(room_id)
        {
            return Some(error(
                req,
                ErrorCode::BadRequest,
                "`room_id` must be 1-128 characters of A-Z, a-z, 0-9, `_`, `.` and `-`",
            ));
        }
        let call_type = AvCall::parse(&m.data).and_then(|c| c.call_type).unwrap_or(CallType::Video);
        let now = now_ms();
        let push = m.push.unwrap_or_default();
        let mut stored = StoredInvitation {
            id: uuid::Uuid::new_v4().to_string(),
            inviter: s.user.clone(),
            invitees: to.iter().map(|u| (u.clone(), Outcome::Pending)).collect(),
            room_id: m.room_id,
            data: m.data,
            call_type,
            created_at: now,
            expires_at: (m.timeout_s > 0).then(|| now + u64::from(m.timeout_s) * 1000),
            push_title: push.title,
            push_desc: push.desc,
            push_ext: push.ext,
        };
        let id = stored.id.clone();
        let mut st = self.state();
        if let Some(room_id) = &stored.room_id
            && let Some(room) = st.rooms.get(room_id)
            && !room.allowed.is_empty()
            && !room.allowed.contains(&s.user)
        {
            return Some(error(req, ErrorCode::Forbidden, "that room id belongs to another call; use a fresh one"));
        }
        let busy: Vec<(String, RejectReason)> =
            to.iter().filter_map(|user| Some((user.clone(), self.busy_reason(&st, user)?))).collect();
        let is_busy = |user: &String| busy.iter().any(|(b, _)| b == user);
        for (user, outcome) in &mut stored.invitees {
            if is_busy(user) {
                *outcome = Outcome::Rejected;
            }
        }
        if !m.online_only
            && let Err(e) = self.store.save_invitation(&stored)
        {
            return Some(internal(req, e));
        }
        self.metrics.invitation_sent();
        let event = frame(&invitation_event(&stored));
        for user in to.iter().filter(|user| !is_busy(user)) {
            st.pending.entry(user.clone()).or_default().insert(id.clone());
            let reached = match self.has_lines(user) {
                true => usize::from(self.ring_free_line(&mut st, user, &id, &event)),
                false => self.bus.send_user(user, &event, None),
            };
            if reached == 0 && !m.online_only {
                self.send_push(&stored, user);
            }
        }
        if let Some(room_id) = &stored.room_id {
            let room = st.rooms.entry(room_id.clone()).or_insert_with(|| Room::for_invitation(&stored));
            room.invite_id = Some(id.clone());
            room.allowed = std::iter::once(s.user.clone()).chain(to.iter().cloned()).collect();
        }
        let ticket = stored.room_id.as_ref().map(|room| self.ticket(room, &s.user, call_type));
        let expires_at = stored.expires_at;
        let reply = ServerMessage::InviteOk(p::InviteOk { req, invite_id: id.clone(), room_ticket: ticket });
        if !busy.is_empty() {
            self.bus.send_conn(&s.user, s.conn, &frame(&reply));
            for (user, reason) in &busy {
                self.metrics.invitee_outcome(Outcome::Rejected);
                let data = AvCall::reject(*reason).to_data();
                let answer = p::InviteeAnswer { invite_id: id.clone(), invitee: user.clone(), data };
                self.bus.send_user(&s.user, &frame(&ServerMessage::InviteeRejected(answer)), None);
                if !m.online_only {
                    self.record(&stored, user, CallOutcome::Busy, CallOutcome::Busy);
                }
            }
        }
        st.invitations.insert(id.clone(), Invitation { stored, online_only: m.online_only });
        for (user, _) in &busy {
            self.settle(&mut st, &id, user);
        }
        let still_open = st.invitations.contains_key(&id);
        drop(st);
        if let Some(at) = expires_at
            && still_open
        {
            self.schedule_expiry(id, at);
        }
        busy.is_empty().then_some(reply)
    }

    /// Why `user` cannot take a new call now, if so: in a call on any device, or, for the
    /// echo user, online with every line taken.
    fn busy_reason(&self, st: &State, user: &str) -> Option<RejectReason> {
        if self.has_lines(user) {
            let taken = self.bus.is_online(user) && self.free_line(st, user).is_none();
            taken.then_some(RejectReason::TestLineBusy)
        } else {
            Self::answers_busy(st, user).then_some(RejectReason::Busy)
        }
    }

    /// Whether `user` takes one call per connection (a line) instead of one in all: the
    /// echo user, which signs in once per line.
    fn has_lines(&self, user: &str) -> bool {
        self.config.echo_user.as_deref() == Some(user)
    }

    /// A connection of a user on lines that neither rings nor is in a call.
    fn free_line(&self, st: &State, user: &str) -> Option<ConnId> {
        self.bus.connections(user).into_iter().find(|conn| !st.lines.contains_key(conn))
    }

    /// Rings one free line of `user` (on lines) for `invite_id`; whether one was free and reached.
    fn ring_free_line(&self, st: &mut State, user: &str, invite_id: &str, event: &Frame) -> bool {
        let Some(conn) = self.free_line(st, user) else { return false };
        st.lines.insert(conn, Line::Ringing(invite_id.to_owned()));
        self.bus.send_conn(user, conn, event)
    }

    /// Sends an event of an invitation to an invitee: only to `line` when the invitee is on
    /// lines and one rings for it, otherwise to every device.
    fn send_invitee(&self, user: &str, line: Option<ConnId>, event: &Frame) {
        match line.filter(|_| self.has_lines(user)) {
            Some(conn) => {
                self.bus.send_conn(user, conn, event);
            }
            None => {
                self.bus.send_user(user, event, None);
            }
        }
    }

    /// Whether `user` is in a call on any device: a member (or one reconnecting) of a room
    /// whose invitation was accepted, or that holds two people (a room the server learnt
    /// of from its members after a restart).
    fn answers_busy(st: &State, user: &str) -> bool {
        st.in_rooms.get(user).is_some_and(|rooms| {
            rooms.iter().filter_map(|id| st.rooms.get(id)).any(|room| room.accepted || room.members.len() >= 2)
        })
    }

    fn send_push(&self, inv: &StoredInvitation, user: &str) {
        if !self.deliveries.enabled(DeliveryKind::Push) {
            return;
        }
        let notice = p::PushNotice {
            user: user.to_string(),
            invite_id: inv.id.clone(),
            title: if inv.push_title.is_empty() { inv.inviter.clone() } else { inv.push_title.clone() },
            desc: if inv.push_desc.is_empty() {
                format!("Incoming {} call", inv.call_type.as_str())
            } else {
                inv.push_desc.clone()
            },
            ext: inv.push_ext.clone(),
            deep_link: format!("duet://invite/{}", inv.id),
            expires_at: inv.expires_at,
        };
        let body = serde_json::to_string(&notice).expect("push notices serialize");
        if let Err(e) = self.deliveries.enqueue(DeliveryKind::Push, &body) {
            tracing::error!("cannot queue push for {user}: {e}");
        }
    }

    fn ticket(&self, room: &str, user: &str, call_type: CallType) -> String {
        let perm = if call_type == CallType::Audio { perm::AUDIO_CALL } else { perm::VIDEO_CALL };
        let exp = now_ms() + self.config.ticket_ttl.as_millis() as u64;
        self.signer.issue_ticket(&TicketClaims { room: room.into(), sub: user.into(), perm, exp })
    }

    fn answer(self: &Arc<Self>, s: &Session, m: p::Answer, accept: bool) -> Reply {
        let req = m.req;
        let mut st = self.state();
        if !st.invitations.contains_key(&m.invite_id) {
            return self.answer_closed(&mut st, s, req, &m.invite_id, accept);
        }
        let inv = st.invitations.get_mut(&m.invite_id).expect("checked above");
        let Some(outcome) = inv.outcome_of(&s.user) else {
            return error(req, ErrorCode::NotInvited, "you are not invited to this call");
        };
        if *outcome != Outcome::Pending {
            let message = format!("this invitation is already {}", outcome.as_str());
            return ServerMessage::invitation_closed(req, *outcome, message);
        }
        let decided = if accept { Outcome::Accepted } else { Outcome::Rejected };
        *outcome = decided;
        if !inv.online_only
            && let Err(e) = self.store.save_invitation(&inv.stored)
        {
            *inv.outcome_of(&s.user).expect("invitee exists") = Outcome::Pending;
            return internal(req, e);
        }
        self.metrics.invitee_outcome(decided);
        let answer = p::InviteeAnswer { invite_id: m.invite_id.clone(), invitee: s.user.clone(), data: m.data.clone() };
        let (event, call_outcome) = if accept {
            (ServerMessage::InviteeAccepted(answer), CallOutcome::Completed)
        } else {
            let busy = AvCall::parse(&m.data).and_then(|c| c.reason) == Some(RejectReason::Busy);
            (ServerMessage::InviteeRejected(answer), if busy { CallOutcome::Busy } else { CallOutcome::Rejected })
        };
        self.bus.send_user(&inv.stored.inviter, &frame(&event), None);
        if !self.has_lines(&s.user) {
            let elsewhere = ServerMessage::AnsweredElsewhere(p::AnsweredElsewhere {
                invite_id: m.invite_id.clone(),
                outcome: decided,
            });
            self.bus.send_user(&s.user, &frame(&elsewhere), Some(s.conn));
        }
        if !inv.online_only {
            self.record(&inv.stored, &s.user, call_outcome, call_outcome);
        }
        let reply = if accept {
            let ticket = inv.stored.room_id.as_ref().map(|room| self.ticket(room, &s.user, inv.stored.call_type));
            ServerMessage::AcceptOk(p::AcceptOk { req, room_ticket: ticket })
        } else {
            ServerMessage::ok(req)
        };
        let room_id = inv.stored.room_id.clone().filter(|_| accept);
        if let Some(room) = room_id.as_ref().and_then(|id| st.rooms.get_mut(id)) {
            room.accepted = true;
        }
        if let Some(room_id) = room_id.filter(|_| self.has_lines(&s.user)) {
            st.lines.insert(s.conn, Line::InRoom(room_id));
        }
        self.settle(&mut st, &m.invite_id, &s.user);
        reply
    }

    /// An answer to an invitation that is settled already. One that crossed the
    /// inviter's cancel is told so (and the invitee's history says cancelled, not
    /// missed: they did answer).
    fn answer_closed(&self, st: &mut State, s: &Session, req: Option<u64>, invite_id: &str, accept: bool) -> Reply {
        let Some(inv) = st.closed.by_id.get(invite_id) else {
            return error(req, ErrorCode::InvitationClosed, "this invitation is no longer open");
        };
        let Some(outcome) = inv.stored.invitees.iter().find(|(u, _)| *u == s.user).map(|(_, o)| *o) else {
            return error(req, ErrorCode::NotInvited, "you are not invited to this call");
        };
        if outcome != Outcome::Cancelled {
            return ServerMessage::invitation_closed(
                req,
                outcome,
                format!("this invitation is already {}", outcome.as_str()),
            );
        }
        if accept {
            self.metrics.answer_crossed_cancel(false);
            if !inv.online_only {
                self.record(&inv.stored, &s.user, CallOutcome::Cancelled, CallOutcome::Cancelled);
            }
        }
        let message = format!("{} cancelled the call", inv.stored.inviter);
        ServerMessage::invitation_closed(req, Outcome::Cancelled, message)
    }

    fn cancel(self: &Arc<Self>, s: &Session, m: p::Answer) -> Reply {
        let req = m.req;
        let mut st = self.state();
        let line = line_of(&st, &m.invite_id);
        if !st.invitations.contains_key(&m.invite_id) {
            return self.cancel_answered(&mut st, s, m);
        }
        let inv = st.invitations.get_mut(&m.invite_id).expect("checked above");
        if inv.stored.inviter != s.user {
            return error(req, ErrorCode::Forbidden, "only the inviter can cancel an invitation");
        }
        let pending = self.close_pending(inv, Outcome::Cancelled);
        if pending.is_empty() {
            return error(req, ErrorCode::InvitationClosed, "every invitee has already answered");
        }
        let event = frame(&ServerMessage::InvitationCancelled(p::InvitationCancelled {
            invite_id: m.invite_id.clone(),
            inviter: s.user.clone(),
            data: m.data,
        }));
        for user in &pending {
            self.send_invitee(user, line, &event);
            if !inv.online_only {
                self.record(&inv.stored, user, CallOutcome::Cancelled, CallOutcome::Missed);
            }
        }
        for user in &pending {
            self.settle(&mut st, &m.invite_id, user);
        }
        ServerMessage::ok(req)
    }

    /// A cancel that crossed the invitee's accept: the inviter never joined the room,
    /// so nobody has been in the call yet. The inviter meant to cancel and its screen
    /// already says so; the invitation ends cancelled for both, in both histories,
    /// and the invitee, on its way into the room, is told and taken out of it.
    fn cancel_answered(&self, st: &mut State, s: &Session, m: p::Answer) -> Reply {
        let req = m.req;
        let closed = || error(req, ErrorCode::InvitationClosed, "this invitation is no longer open");
        let Some(inv) = st.closed.by_id.get_mut(&m.invite_id) else { return closed() };
        if inv.stored.inviter != s.user {
            return error(req, ErrorCode::Forbidden, "only the inviter can cancel an invitation");
        }
        let Some(room_id) = inv.stored.room_id.clone() else { return closed() };
        let inviter_joined =
            st.rooms.get(&room_id).is_some_and(|room| room.members.iter().any(|member| member.user == s.user));
        let accepted: Vec<String> =
            inv.stored.invitees.iter().filter(|(_, o)| *o == Outcome::Accepted).map(|(u, _)| u.clone()).collect();
        if inviter_joined || accepted.is_empty() {
            return error(req, ErrorCode::InvitationClosed, "every invitee has already answered");
        }
        for (_, outcome) in inv.stored.invitees.iter_mut().filter(|(_, o)| *o == Outcome::Accepted) {
            *outcome = Outcome::Cancelled;
        }
        if !inv.online_only
            && let Err(e) = self.store.save_invitation(&inv.stored)
        {
            tracing::error!("cannot store the outcome of invitation {}: {e}", inv.stored.id);
        }
        let event = frame(&ServerMessage::InvitationCancelled(p::InvitationCancelled {
            invite_id: m.invite_id.clone(),
            inviter: s.user.clone(),
            data: m.data,
        }));
        for user in &accepted {
            self.metrics.answer_crossed_cancel(true);
            if !inv.online_only {
                self.record(&inv.stored, user, CallOutcome::Cancelled, CallOutcome::Cancelled);
            }
        }
        let line = st.lines.iter().find(|(_, l)| matches!(l, Line::InRoom(id) if *id == room_id)).map(|(c, _)| *c);
        for user in &accepted {
            self.send_invitee(user, line, &event);
            self.remove_member(st, &room_id, user, "cancelled", None);
        }
        st.lines.retain(|_, l| !matches!(l, Line::InRoom(id) if *id == room_id));
        if st.rooms.get(&room_id).is_some_and(|room| room.members.is_empty()) {
            st.rooms.remove(&room_id);
        }
        ServerMessage::ok(req)
    }

    /// Times out whatever is still pending of an invitation whose time is up.
    fn expire(&self, invite_id: &str) {
        let mut st = self.state();
        let line = line_of(&st, invite_id);
        let Some(inv) = st.invitations.get_mut(invite_id) else { return };
        if inv.stored.expires_at.is_none_or(|at| at > now_ms()) {
            return;
        }
        let timed_out = self.close_pending(inv, Outcome::Timeout);
        if timed_out.is_empty() {
            return;
        }
        let event = frame(&ServerMessage::InvitationTimeout(p::InvitationTimeout {
            invite_id: invite_id.to_string(),
            invitees: timed_out.clone(),
        }));
        self.bus.send_user(&inv.stored.inviter, &event, None);
        for user in &timed_out {
            self.send_invitee(user, line, &event);
            if !inv.online_only {
                self.record(&inv.stored, user, CallOutcome::Timeout, CallOutcome::Missed);
            }
        }
        for user in &timed_out {
            self.settle(&mut st, invite_id, user);
        }
    }

    /// Moves every pending invitee to `outcome` and stores it; returns who moved.
    fn close_pending(&self, inv: &mut Invitation, outcome: Outcome) -> Vec<String> {
        let mut moved = Vec::new();
        for (user, o) in &mut inv.stored.invitees {
            if *o == Outcome::Pending {
                *o = outcome;
                moved.push(user.clone());
                self.metrics.invitee_outcome(outcome);
            }
        }
        if !moved.is_empty()
            && !inv.online_only
            && let Err(e) = self.store.save_invitation(&inv.stored)
        {
            tracing::error!("cannot store the outcome of invitation {}: {e}", inv.stored.id);
        }
        moved
    }

    /// Forgets that `user` is pending for the invitation; drops the invitation once
    /// nobody is pending, and its room if nobody accepted.
    fn settle(&self, st: &mut State, invite_id: &str, user: &str) {
        if self.has_lines(user) {
            st.lines.retain(|_, line| !matches!(line, Line::Ringing(id) if id == invite_id));
        }
        if let Some(ids) = st.pending.get_mut(user) {
            ids.remove(invite_id);
            if ids.is_empty() {
                st.pending.remove(user);
            }
        }
        let Some(inv) = st.invitations.get(invite_id) else { return };
        if inv.is_open() {
            return;
        }
        let accepted = inv.stored.invitees.iter().any(|(_, o)| *o == Outcome::Accepted);
        let room_id = inv.stored.room_id.clone();
        if let Some(inv) = st.invitations.remove(invite_id) {
            st.closed.remember(inv, now_ms());
        }
        if let Some(room_id) = room_id
            && !accepted
            && st.rooms.get(&room_id).is_some_and(|r| r.members.is_empty())
        {
            st.rooms.remove(&room_id);
        }
    }

    /// Writes the history rows of one invitee's outcome: the inviter's and the invitee's.
    fn record(&self, inv: &StoredInvitation, invitee: &str, inviter_sees: CallOutcome, invitee_sees: CallOutcome) {
        let entry = |peer: &str, direction, outcome| HistoryEntry {
            invite_id: inv.id.clone(),
            peer: peer.to_string(),
            direction,
            call_type: inv.call_type,
            outcome,
            started_at: inv.created_at,
            duration_s: 0,
        };
        let rows = [
            HistoryRow { user: inv.inviter.clone(), entry: entry(invitee, Direction::Out, inviter_sees) },
            HistoryRow { user: invitee.to_string(), entry: entry(&inv.inviter, Direction::In, invitee_sees) },
        ];
        for row in &rows {
            if let Err(e) = self.store.record_call(row) {
                tracing::error!("cannot record call {} for {}: {e}", inv.id, row.user);
            }
        }
    }

    fn schedule_expiry(self: &Arc<Self>, invite_id: String, at: u64) {
        let hub = self.clone();
        let wait = Duration::from_millis(at.saturating_sub(now_ms()));
        tokio::spawn(async move {
            tokio::select! {
                _ = hub.stop.cancelled() => {}
                _ = tokio::time::sleep(wait) => hub.expire(&invite_id),
            }
        });
    }

    // ---- rooms ----

    /// Joins a room, or rejoins it: a member back on a new connection (after a
    /// reconnect) takes up its place, the others hear it `resumed`, and the
    /// `room.signal`s held for it follow the reply.
    fn join(&self, s: &Session, m: p::RoomJoin) -> Option<Reply> {
        let req = m.req;
        let now = now_ms();
        let mut st = self.state();
        let member_of = |st: &State| {
            st.rooms.get(&m.room_id).is_some_and(|room| room.members.iter().any(|member| member.user == s.user))
        };
        let claims = match self.signer.verify_ticket(&m.ticket, now) {
            Ok(c) => c,
            // A ticket may run out during a long call: a member coming back is let in on it.
            Err(TokenError::Expired) if member_of(&st) => match self.signer.verify_ticket(&m.ticket, 0) {
                Ok(c) => c,
                Err(_) => return Some(error(req, ErrorCode::Forbidden, "invalid room ticket")),
            },
            Err(TokenError::Expired) => return Some(error(req, ErrorCode::Forbidden, "your room ticket has expired")),
            Err(TokenError::Invalid) => return Some(error(req, ErrorCode::Forbidden, "invalid room ticket")),
        };
        if claims.room != m.room_id || claims.sub != s.user || claims.perm & perm::ENTER == 0 {
            return Some(error(req, ErrorCode::Forbidden, "this ticket does not let you into that room"));
        }
        if !st.rooms.contains_key(&m.room_id)
            && let Some(inv) = st.closed.cancelled_room(&m.room_id)
        {
            let message = format!("{} cancelled the call", inv.stored.inviter);
            return Some(ServerMessage::invitation_closed(req, Outcome::Cancelled, message));
        }
        if !st.rooms.contains_key(&m.room_id) && st.closed.ended_rooms.contains_key(&m.room_id) {
            return Some(error(req, ErrorCode::NotInRoom, "the call has already ended"));
        }
        let room = st.rooms.entry(m.room_id.clone()).or_insert_with(Room::unknown);
        if !room.allowed.is_empty() && !room.allowed.contains(&s.user) {
            return Some(error(req, ErrorCode::Forbidden, "you are not part of this call"));
        }
        let others: Vec<String> = room.members.iter().filter(|m| m.user != s.user).map(|m| m.user.clone()).collect();
        let mut held = VecDeque::new();
        if let Some(member) = room.members.iter_mut().find(|m| m.user == s.user) {
            // The same user again, after a reconnect: the new connection takes over.
            let resumed = member.gone || member.conn != s.conn;
            member.conn = s.conn;
            member.gone = false;
            member.generation += 1;
            held = std::mem::take(&mut member.held);
            if resumed {
                let back = p::MemberJoined { room_id: m.room_id.clone(), user: s.user.clone(), resumed: true };
                self.tell_others(room, &s.user, &ServerMessage::MemberJoined(back));
            }
        } else {
            if room.members.len() >= room.allowed.len().max(2) {
                return Some(error(req, ErrorCode::Forbidden, "this room is full"));
            }
            if !room.used {
                room.used = true;
                self.webhook(webhook::CREATE_ROOM, &m.room_id, "", None);
            }
            let joined = frame(&ServerMessage::MemberJoined(p::MemberJoined {
                room_id: m.room_id.clone(),
                user: s.user.clone(),
                resumed: false,
            }));
            for other in &mut room.members {
                other.peer_seen_at.get_or_insert(now);
                self.bus.send_conn(&other.user, other.conn, &joined);
            }
            room.members.push(Member {
                user: s.user.clone(),
                conn: s.conn,
                peer_seen_at: (!room.members.is_empty()).then_some(now),
                audio: claims.perm & perm::SEND_AUDIO != 0,
                video: claims.perm & perm::SEND_VIDEO != 0,
                generation: 0,
                gone: false,
                held: VecDeque::new(),
            });
            self.webhook(webhook::ENTER_ROOM, &m.room_id, &s.user, None);
            st.in_rooms.entry(s.user.clone()).or_default().insert(m.room_id.clone());
            self.announce(&mut st, &s.user);
        }
        let joined = ServerMessage::RoomJoined(p::RoomJoined {
            req,
            room_id: m.room_id,
            members: others,
            ice_servers: self.ice_servers(&s.user),
        });
        if held.is_empty() {
            return Some(joined);
        }
        // The held signals go after the reply, in the order they came.
        self.bus.send_conn(&s.user, s.conn, &frame(&joined));
        for signal in &held {
            self.bus.send_conn(&s.user, s.conn, signal);
        }
        None
    }

    fn ice_servers(&self, user: &str) -> Vec<IceServer> {
        let ice = &self.config.ice;
        let mut servers = Vec::new();
        if !ice.stun_urls.is_empty() {
            servers.push(IceServer { urls: ice.stun_urls.clone(), username: None, credential: None });
        }
        if !ice.turn_urls.is_empty() {
            let expiry = now_ms() / 1000 + ice.turn_ttl.as_secs();
            let (username, credential) = turn_credentials(&ice.turn_secret, user, expiry);
            servers.push(IceServer {
                urls: ice.turn_urls.clone(),
                username: Some(username),
                credential: Some(credential),
            });
        }
        servers
    }

    fn signal(&self, s: &Session, m: p::RoomSignal) -> Option<Reply> {
        let mut st = self.state();
        let member = |user: &str| st.rooms.get(&m.room_id).and_then(|r| r.members.iter().find(|x| x.user == user));
        if member(&s.user).is_none() {
            return Some(error(m.req, ErrorCode::NotInRoom, "you are not in this room"));
        }
        let Some(target) = member(&m.to).filter(|_| m.to != s.user) else {
            return Some(error(m.req, ErrorCode::NotInRoom, format!("`{}` is not in this room", m.to)));
        };
        let relayed = frame(&ServerMessage::RoomSignal(p::RelayedSignal {
            room_id: m.room_id.clone(),
            from: s.user.clone(),
            payload: m.payload,
        }));
        if !target.gone {
            self.bus.send_conn(&target.user, target.conn, &relayed);
        } else if let Some(target) =
            st.rooms.get_mut(&m.room_id).and_then(|room| room.members.iter_mut().find(|x| x.user == m.to))
        {
            // Away (reconnecting): held until it joins again, the newest kept.
            if target.held.len() == MAX_HELD_SIGNALS {
                target.held.pop_front();
            }
            target.held.push_back(relayed);
        }
        m.req.map(|req| ServerMessage::ok(Some(req)))
    }

    fn media(&self, s: &Session, m: p::RoomMedia) -> Option<Reply> {
        let mut st = self.state();
        let Some(room) = st.rooms.get_mut(&m.room_id) else {
            return Some(error(m.req, ErrorCode::NotInRoom, "you are not in this room"));
        };
        let Some(member) = room.members.iter_mut().find(|x| x.user == s.user) else {
            return Some(error(m.req, ErrorCode::NotInRoom, "you are not in this room"));
        };
        let changes = [
            (member.audio, m.audio, webhook::START_AUDIO, webhook::STOP_AUDIO),
            (member.video, m.video, webhook::START_VIDEO, webhook::STOP_VIDEO),
        ];
        member.audio = m.audio;
        member.video = m.video;
        for (before, after, start, stop) in changes {
            if before != after {
                self.webhook(if after { start } else { stop }, &m.room_id, &s.user, None);
            }
        }
        let event = frame(&ServerMessage::RoomMedia(p::MemberMedia {
            room_id: m.room_id.clone(),
            user: s.user.clone(),
            audio: m.audio,
            video: m.video,
            audio_off: m.audio_off,
            video_off: m.video_off,
        }));
        for other in room.members.iter().filter(|x| x.user != s.user) {
            self.bus.send_conn(&other.user, other.conn, &event);
        }
        m.req.map(|req| ServerMessage::ok(Some(req)))
    }

    fn leave(&self, s: &Session, m: p::RoomLeave) -> Option<Reply> {
        let mut st = self.state();
        if !self.remove_member(&mut st, &m.room_id, &s.user, &m.reason, None) {
            return Some(error(m.req, ErrorCode::NotInRoom, "you are not in this room"));
        }
        m.req.map(|req| ServerMessage::ok(Some(req)))
    }

    /// Takes `user` out of a room (only if its generation still matches, for the
    /// watchdog); returns whether the user was a member.
    fn remove_member(&self, st: &mut State, room_id: &str, user: &str, reason: &str, generation: Option<u64>) -> bool {
        let Some(room) = st.rooms.get_mut(room_id) else { return false };
        let Some(index) =
            room.members.iter().position(|m| m.user == user && generation.is_none_or(|g| m.gone && m.generation == g))
        else {
            return false;
        };
        let member = room.members.remove(index);
        let now = now_ms();
        if let (Some(invite_id), Some(seen)) = (&room.invite_id, member.peer_seen_at)
            && let Err(e) = self.store.set_call_duration(user, invite_id, now.saturating_sub(seen) / 1000)
        {
            tracing::error!("cannot store the duration of call {invite_id}: {e}");
        }
        let left = frame(&ServerMessage::MemberLeft(p::MemberLeft {
            room_id: room_id.to_string(),
            user: user.to_string(),
            reason: reason.to_string(),
        }));
        for other in &room.members {
            self.bus.send_conn(&other.user, other.conn, &left);
        }
        self.webhook(webhook::EXIT_ROOM, room_id, user, Some(reason));
        let empty = room.members.is_empty();
        let open = room.invite_id.as_ref().is_some_and(|id| st.invitations.contains_key(id));
        if empty && !open {
            if room.used {
                st.closed.room_ended(room_id, now);
            }
            st.rooms.remove(room_id);
            self.webhook(webhook::DISMISS_ROOM, room_id, "", None);
        }
        if let Some(rooms) = st.in_rooms.get_mut(user) {
            rooms.remove(room_id);
            if rooms.is_empty() {
                st.in_rooms.remove(user);
            }
        }
        if self.has_lines(user) {
            st.lines.retain(|_, line| !matches!(line, Line::InRoom(id) if id == room_id));
        }
        self.announce(st, user);
        true
    }

    /// Sends `msg` to the members of `room` other than `user` whose connection is there.
    fn tell_others(&self, room: &Room, user: &str, msg: &ServerMessage) {
        let event = frame(msg);
        for other in room.members.iter().filter(|x| x.user != user && !x.gone) {
            self.bus.send_conn(&other.user, other.conn, &event);
        }
    }

    fn schedule_watchdog(self: &Arc<Self>, room_id: String, user: String, generation: u64) {
        let hub = self.clone();
        tokio::spawn(async move {
            tokio::select! {
                _ = hub.stop.cancelled() => {}
                _ = tokio::time::sleep(hub.config.watchdog) => {
                    let mut st = hub.state();
                    hub.remove_member(&mut st, &room_id, &user, "timeout", Some(generation));
                }
            }
        });
    }

    fn webhook(&self, event_type: u16, room_id: &str, user: &str, reason: Option<&str>) {
        if !self.deliveries.enabled(DeliveryKind::Webhook) {
            return;
        }
        let now = now_ms();
        let event = p::WebhookEvent {
            event_group_id: webhook::group_of(event_type),
            event_type,
            callback_ts: now,
            event_info: p::WebhookEventInfo {
                room_id: room_id.into(),
                user_id: user.into(),
                ts: now,
                reason: reason.map(String::from),
            },
        };
        let body = serde_json::to_string(&event).expect("webhook events serialize");
        if let Err(e) = self.deliveries.enqueue(DeliveryKind::Webhook, &body) {
            tracing::error!("cannot queue webhook {event_type}: {e}");
        }
    }

    // ---- history ----

    fn history(&self, s: &Session, m: p::HistoryList) -> Reply {
        let limit = m.limit.unwrap_or(50).clamp(1, 500);
        match self.store.history(&s.user, limit, m.before) {
            Ok(calls) => ServerMessage::HistoryOk(p::HistoryOk { req: m.req, calls }),
            Err(e) => internal(m.req, e),
        }
    }
}

impl Room {
    fn for_invitation(inv: &StoredInvitation) -> Room {
        Room {
            invite_id: Some(inv.id.clone()),
            allowed: std::iter::once(inv.inviter.clone()).chain(inv.invitees.iter().map(|(u, _)| u.clone())).collect(),
            members: Vec::new(),
            used: false,
            accepted: false,
        }
    }

    fn unknown() -> Room {
        Room { invite_id: None, allowed: Vec::new(), members: Vec::new(), used: false, accepted: false }
    }
}

/// The echo user's line that rings for `invite_id`, if one does.
fn line_of(st: &State, invite_id: &str) -> Option<ConnId> {
    st.lines.iter().find(|(_, line)| matches!(line, Line::Ringing(id) if id == invite_id)).map(|(conn, _)| *conn)
}

fn invitation_event(inv: &StoredInvitation) -> ServerMessage {
    ServerMessage::Invitation(p::Invitation {
        invite_id: inv.id.clone(),
        inviter: inv.inviter.clone(),
        invitees: inv.invitees.iter().map(|(u, _)| u.clone()).collect(),
        room_id: inv.room_id.clone(),
        data: inv.data.clone(),
        expires_at: inv.expires_at,
    })
}

fn internal(req: Option<u64>, e: crate::Error) -> Reply {
    tracing::error!("internal error: {e}");
    error(req, ErrorCode::Internal, "the server could not complete this request; try again")
}

/// Whether `id` can name a room: 1-128 characters of `[A-Za-z0-9_.-]`.
pub fn is_valid_room_id(id: &str) -> bool {
    (1..=128).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}
