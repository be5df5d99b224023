//! The call state machine (after Agora CallAPI), free of I/O: inputs go in,
//! actions for the driver and state changes for the UI come out.
//!
//! `idle → prepared → calling | ringing → connecting → connected → ended(reason) → prepared`,
//! plus `failed(reason)`. Illegal inputs are errors, never panics.

use std::time::Duration;

use duet_protocol::{CallType, IceServer, Invitation, Outcome, RejectReason};
use tokio::time::Instant;

/// Why a call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EndReason {
    LocalHangup,
    RemoteHangup,
    Rejected,
    Busy,
    /// The echo user's every line is in a call (try again in a minute).
    TestLineBusy,
    Cancelled,
    Timeout,
    AnsweredElsewhere,
    /// Media stayed down for [`NETWORK_LOST_AFTER`] (on either side) and could not be
    /// brought back: the call ends instead of showing a frozen picture for ever.
    NetworkLost,
}

/// How long a call's media may stay down before the call ends with
/// [`EndReason::NetworkLost`] (PROTOCOL.md "Staying in the call").
pub const NETWORK_LOST_AFTER: Duration = Duration::from_secs(30);

/// Why a member leaves a room (`room.leave`'s and `room.member_left`'s `reason`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeaveReason {
    Hangup,
    /// Its media found no path to the peer.
    MediaFailed,
    /// Its media was down for [`NETWORK_LOST_AFTER`].
    NetworkLost,
}

impl LeaveReason {
    pub fn as_str(self) -> &'static str {
        match self {
            LeaveReason::Hangup => "hangup",
            LeaveReason::MediaFailed => "media_failed",
            LeaveReason::NetworkLost => "network_lost",
        }
    }

    /// The reason a `room.member_left` carries; anything else is a hang-up.
    pub fn parse(reason: &str) -> LeaveReason {
        match reason {
            "media_failed" => LeaveReason::MediaFailed,
            // The server's watchdog let a member go whose connection never came back.
            "network_lost" | "timeout" => LeaveReason::NetworkLost,
            _ => LeaveReason::Hangup,
        }
    }
}

/// Why a call failed.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "detail")]
pub enum FailReason {
    /// The server refused or the request could not be made.
    Signaling(String),
    MediaFailure(String),
    SignalingLost,
    /// The call was answered but the two were not both in its room within
    /// [`CONNECT_WITHIN`] (the peer left early, or an accept crossed a cancel).
    Timeout,
}

/// The state of the (single) call.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case", tag = "state", content = "reason")]
pub enum CallState {
    Idle,
    Prepared,
    Calling,
    Ringing,
    Connecting,
    Connected,
    Ended(EndReason),
    Failed(FailReason),
}

impl CallState {
    /// The state's name as in DESIGN.md.
    pub fn name(&self) -> &'static str {
        match self {
            CallState::Idle => "idle",
            CallState::Prepared => "prepared",
            CallState::Calling => "calling",
            CallState::Ringing => "ringing",
            CallState::Connecting => "connecting",
            CallState::Connected => "connected",
            CallState::Ended(_) => "ended",
            CallState::Failed(_) => "failed",
        }
    }

    fn in_call(&self) -> bool {
        matches!(self, CallState::Calling | CallState::Ringing | CallState::Connecting | CallState::Connected)
    }
}

/// Which way the call goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    Outgoing,
    Incoming,
}

/// What is known about the current call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallInfo {
    pub peer: String,
    pub direction: Direction,
    pub call_type: CallType,
    pub room_id: String,
    /// Known once the server accepted the invite (outgoing) or delivered it (incoming).
    pub invite_id: Option<String>,
    pub ticket: Option<String>,
    /// The STUN and TURN servers (with short-lived TURN credentials) the server
    /// named when this side joined the room.
    pub ice_servers: Vec<IceServer>,
}

/// Inputs of the machine: user intents and signaling events.
#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    /// Logged in and ready.
    Ready,
    /// Logged out.
    Reset,
    /// The signaling connection is back after a drop (and signed in again).
    Reconnected,
    /// The user calls `peer` in a fresh room.
    Dial {
        peer: String,
        call_type: CallType,
        room_id: String,
    },
    /// The server took the invite.
    InviteSent {
        invite_id: String,
        ticket: Option<String>,
    },
    /// The invite, accept or join request failed.
    RequestFailed(String),
    /// An invitation arrived.
    Invitation(Invitation),
    /// The user accepts the ringing call (optionally as audio only).
    Accept {
        audio_only: bool,
    },
    /// The server confirmed our accept.
    Accepted {
        ticket: Option<String>,
    },
    /// The user declines the ringing call.
    Decline,
    /// The user hangs up or cancels.
    Hangup,
    InviteeAccepted {
        invite_id: String,
    },
    InviteeRejected {
        invite_id: String,
        reason: RejectReason,
    },
    InvitationCancelled {
        invite_id: String,
    },
    InvitationTimeout {
        invite_id: String,
    },
    AnsweredElsewhere {
        invite_id: String,
    },
    /// The server refused our accept (or our joining its room): the invitation had
    /// ended for us with `outcome` (`cancelled` when the accept crossed the cancel).
    InvitationClosed {
        outcome: Outcome,
    },
    /// The server refused us into the call's room: everybody had left it (the
    /// peer hung up before we got in).
    RoomEnded,
    /// We are in the room; `members` were there already.
    RoomJoined {
        members: Vec<String>,
        ice_servers: Vec<IceServer>,
    },
    MemberJoined {
        user: String,
    },
    MemberLeft {
        user: String,
        /// Why (`room.member_left`'s reason): a hang-up, or its media found no
        /// path, or its network was gone for good.
        reason: LeaveReason,
    },
    /// Media could not be set up or broke down.
    MediaFailed(String),
    /// Media was down for [`NETWORK_LOST_AFTER`] and could not be brought back.
    NetworkLost,
    /// Time passes (ring timeout).
    Tick,
}

/// What the driver must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Invite {
        peer: String,
        call_type: CallType,
        room_id: String,
        timeout_s: u32,
    },
    Cancel {
        invite_id: String,
    },
    Accept {
        invite_id: String,
    },
    Reject {
        invite_id: String,
        reason: RejectReason,
    },
    JoinRoom {
        room_id: String,
        ticket: String,
    },
    /// Leave the room, telling the peer why.
    LeaveRoom {
        room_id: String,
        reason: LeaveReason,
    },
}

/// Why a call whose media found no path failed, in words for the person calling.
/// Both sides say it: the one whose watchdog fired, and the peer it leaves.
pub fn media_unreachable(peer: &str) -> String {
    format!("could not reach {peer}'s device — the network may block calls; ask your admin for a TURN server")
}

/// An input the current state does not allow.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{input}` is not possible while the call is {state}")]
pub struct IllegalTransition {
    pub state: &'static str,
    pub input: String,
}

/// How long after the ring timeout the local timer gives up. The server times
/// invitations out for both sides at the ring timeout; the local timer is only a
/// safety net for when that event never arrives.
pub const RING_GRACE: Duration = Duration::from_secs(2);

/// How long an answered call may take until both are in its room (seed 001's
/// per-state timeouts): then it fails with [`FailReason::Timeout`] instead of
/// showing "Connecting…" for ever.
pub const CONNECT_WITHIN: Duration = Duration::from_secs(20);

/// The call state machine.
#[derive(Debug)]
pub struct CallMachine {
    state: CallState,
    call: Option<CallInfo>,
    ring_timeout: Duration,
    /// When the current state gives up: ringing (calling, ringing) or connecting.
    deadline: Option<Instant>,
    changes: Vec<CallState>,
}

impl CallMachine {
    /// A machine whose calls ring for `ring_timeout` (60 s by default in the driver).
    pub fn new(ring_timeout: Duration) -> CallMachine {
        CallMachine { state: CallState::Idle, call: None, ring_timeout, deadline: None, changes: Vec::new() }
    }

    pub fn state(&self) -> &CallState {
        &self.state
    }

    pub fn call(&self) -> Option<&CallInfo> {
        self.call.as_ref()
    }

    /// When the current state times out (ringing, or connecting), if it does:
    /// the driver feeds [`Input::Tick`] then.
    pub fn deadline(&self) -> Option<Instant> {
        self.deadline
    }

    /// The state changes since the last call, in order.
    pub fn take_changes(&mut self) -> Vec<CallState> {
        std::mem::take(&mut self.changes)
    }

    fn set(&mut self, state: CallState) {
        self.state = state.clone();
        self.changes.push(state);
    }

    /// Ends the call with `state` (ended or failed) and returns to prepared.
    fn finish(&mut self, state: CallState) {
        self.set(state);
        self.call = None;
        self.deadline = None;
        self.set(CallState::Prepared);
    }

    fn is_current(&self, invite_id: &str) -> bool {
        self.call.as_ref().and_then(|c| c.invite_id.as_deref()) == Some(invite_id)
    }

    fn illegal(&self, input: &Input) -> IllegalTransition {
        let name = format!("{input:?}");
        let input = name.split([' ', '(', '{']).next().unwrap_or_default().to_string();
        IllegalTransition { state: self.state.name(), input }
    }

    /// Feeds one input at time `now`; returns what the driver must do.
    pub fn handle(&mut self, input: Input, now: Instant) -> Result<Vec<Action>, IllegalTransition> {
        use CallState as S;
        let mut actions = Vec::new();
        match (&self.state, input) {
            (S::Idle, Input::Ready) => self.set(S::Prepared),
            (_, Input::Reset) => {
                self.call = None;
                self.deadline = None;
                self.set(S::Idle);
            }
            (S::Prepared, Input::Dial { peer, call_type, room_id }) => {
                let timeout_s = self.ring_timeout.as_secs().max(1) as u32;
                actions.push(Action::Invite { peer: peer.clone(), call_type, room_id: room_id.clone(), timeout_s });
                self.call = Some(CallInfo {
                    peer,
                    direction: Direction::Outgoing,
                    call_type,
                    room_id,
                    invite_id: None,
                    ticket: None,
                    ice_servers: Vec::new(),
                });
                self.deadline = Some(now + self.ring_timeout + RING_GRACE);
                self.set(S::Calling);
            }
            (S::Calling, Input::InviteSent { invite_id, ticket }) => {
                if let Some(call) = &mut self.call {
                    call.invite_id = Some(invite_id);
                    call.ticket = ticket;
                }
            }
            (S::Calling | S::Ringing | S::Connecting, Input::RequestFailed(why)) => {
                // Seed 003: an accept that fails is turned into a reject so the caller stops waiting.
                if let (S::Connecting, Some(call)) = (&self.state, &self.call)
                    && let (Direction::Incoming, Some(id)) = (call.direction, &call.invite_id)
                {
                    actions.push(Action::Reject { invite_id: id.clone(), reason: RejectReason::Active });
                }
                self.finish(S::Failed(FailReason::Signaling(why)));
            }
            (state, Input::Invitation(inv)) => {
                if self.is_current(&inv.invite_id) {
                    // Delivered again after a reconnect: we already ring for it.
                } else if state.in_call() {
                    actions.push(Action::Reject { invite_id: inv.invite_id, reason: RejectReason::Busy });
                } else if *state == S::Prepared {
                    let call_type =
                        duet_protocol::AvCall::parse(&inv.data).and_then(|c| c.call_type).unwrap_or(CallType::Video);
                    let room_id = inv.room_id.clone().unwrap_or_default();
                    self.deadline = Some(now + self.ring_timeout + RING_GRACE);
                    self.call = Some(CallInfo {
                        peer: inv.inviter,
                        direction: Direction::Incoming,
                        call_type,
                        room_id,
                        invite_id: Some(inv.invite_id),
                        ticket: None,
                        ice_servers: Vec::new(),
                    });
                    self.set(S::Ringing);
                } else {
                    return Err(self.illegal(&Input::Invitation(inv)));
                }
            }
            (S::Ringing, Input::Accept { audio_only }) => {
                let call = self.call.as_mut().expect("ringing has a call");
                if audio_only {
                    call.call_type = CallType::Audio;
                }
                actions.push(Action::Accept { invite_id: call.invite_id.clone().unwrap_or_default() });
                self.deadline = Some(now + CONNECT_WITHIN);
                self.set(S::Connecting);
            }
            (S::Connecting, Input::Accepted { ticket }) => {
                let call = self.call.as_mut().expect("connecting has a call");
                if let Some(ticket) = ticket {
                    call.ticket = Some(ticket.clone());
                    actions.push(Action::JoinRoom { room_id: call.room_id.clone(), ticket });
                }
            }
            (S::Ringing, Input::Decline | Input::Hangup) => {
                let id = self.call.as_ref().and_then(|c| c.invite_id.clone()).unwrap_or_default();
                actions.push(Action::Reject { invite_id: id, reason: RejectReason::Active });
                self.finish(S::Ended(EndReason::Rejected));
            }
            (S::Calling, Input::Hangup) => {
                if let Some(id) = self.call.as_ref().and_then(|c| c.invite_id.clone()) {
                    actions.push(Action::Cancel { invite_id: id });
                }
                self.finish(S::Ended(EndReason::Cancelled));
            }
            (S::Connecting | S::Connected, Input::Hangup) => {
                let room_id = self.call.as_ref().map(|c| c.room_id.clone()).unwrap_or_default();
                actions.push(Action::LeaveRoom { room_id, reason: LeaveReason::Hangup });
                self.finish(S::Ended(EndReason::LocalHangup));
            }
            (S::Calling, Input::InviteeAccepted { invite_id }) if self.is_current(&invite_id) => {
                let call = self.call.as_ref().expect("calling has a call");
                if let Some(ticket) = &call.ticket {
                    actions.push(Action::JoinRoom { room_id: call.room_id.clone(), ticket: ticket.clone() });
                }
                self.deadline = Some(now + CONNECT_WITHIN);
                self.set(S::Connecting);
            }
            (S::Calling, Input::InviteeRejected { invite_id, reason }) if self.is_current(&invite_id) => {
                let reason = match reason {
                    RejectReason::Busy => EndReason::Busy,
                    RejectReason::TestLineBusy => EndReason::TestLineBusy,
                    RejectReason::Active => EndReason::Rejected,
                };
                self.finish(S::Ended(reason));
            }
            (S::Ringing, Input::InvitationCancelled { invite_id }) if self.is_current(&invite_id) => {
                self.finish(S::Ended(EndReason::Cancelled));
            }
            // The accept crossed the caller's cancel and reached the server first: the
            // call is cancelled all the same, and we leave the room we were entering.
            (S::Connecting, Input::InvitationCancelled { invite_id })
                if self.is_current(&invite_id)
                    && self.call.as_ref().is_some_and(|c| c.direction == Direction::Incoming) =>
            {
                let room_id = self.call.as_ref().map(|c| c.room_id.clone()).unwrap_or_default();
                actions.push(Action::LeaveRoom { room_id, reason: LeaveReason::Hangup });
                self.finish(S::Ended(EndReason::Cancelled));
            }
            (S::Connecting, Input::RoomEnded) => self.finish(S::Ended(EndReason::RemoteHangup)),
            (S::Connecting, Input::InvitationClosed { outcome })
                if self.call.as_ref().is_some_and(|c| c.direction == Direction::Incoming) =>
            {
                self.finish(S::Ended(match outcome {
                    Outcome::Cancelled => EndReason::Cancelled,
                    Outcome::Timeout => EndReason::Timeout,
                    _ => EndReason::AnsweredElsewhere,
                }));
            }
            (S::Calling | S::Ringing, Input::InvitationTimeout { invite_id }) if self.is_current(&invite_id) => {
                self.finish(S::Ended(EndReason::Timeout));
            }
            (S::Ringing, Input::AnsweredElsewhere { invite_id }) if self.is_current(&invite_id) => {
                self.finish(S::Ended(EndReason::AnsweredElsewhere));
            }
            // Back after a drop: the room takes us back (PROTOCOL.md "Staying in the
            // call"); the peer hears we resumed, media never stopped.
            (S::Connecting | S::Connected, Input::Reconnected) => {
                if let Some(call) = &self.call
                    && let Some(ticket) = &call.ticket
                {
                    actions.push(Action::JoinRoom { room_id: call.room_id.clone(), ticket: ticket.clone() });
                }
            }
            (_, Input::Reconnected) => {}
            (S::Connected, Input::RoomJoined { ice_servers, .. }) => {
                if let Some(call) = &mut self.call {
                    call.ice_servers = ice_servers;
                }
            }
            (S::Connected, Input::RoomEnded) => self.finish(S::Ended(EndReason::RemoteHangup)),
            (S::Connecting, Input::RoomJoined { members, ice_servers }) => {
                if let Some(call) = &mut self.call {
                    call.ice_servers = ice_servers;
                }
                if self.call.as_ref().is_some_and(|c| members.contains(&c.peer)) {
                    self.deadline = None;
                    self.set(S::Connected);
                }
            }
            (S::Connecting, Input::MemberJoined { user }) if self.call.as_ref().is_some_and(|c| c.peer == user) => {
                self.deadline = None;
                self.set(S::Connected);
            }
            (S::Connecting | S::Connected, Input::MemberLeft { user, reason })
                if self.call.as_ref().is_some_and(|c| c.peer == user) =>
            {
                let room_id = self.call.as_ref().map(|c| c.room_id.clone()).unwrap_or_default();
                actions.push(Action::LeaveRoom { room_id, reason: LeaveReason::Hangup });
                // Both sides' media watchdogs fire at about the same time: the one whose
                // peer left first says the same as the peer, not "hung up".
                self.finish(match reason {
                    LeaveReason::MediaFailed => S::Failed(FailReason::MediaFailure(media_unreachable(&user))),
                    LeaveReason::NetworkLost => S::Ended(EndReason::NetworkLost),
                    LeaveReason::Hangup => S::Ended(EndReason::RemoteHangup),
                });
            }
            (S::Connected, Input::NetworkLost) => {
                let room_id = self.call.as_ref().map(|c| c.room_id.clone()).unwrap_or_default();
                actions.push(Action::LeaveRoom { room_id, reason: LeaveReason::NetworkLost });
                self.finish(S::Ended(EndReason::NetworkLost));
            }
            (S::Connecting | S::Connected, Input::MediaFailed(why)) => {
                let room_id = self.call.as_ref().map(|c| c.room_id.clone()).unwrap_or_default();
                actions.push(Action::LeaveRoom { room_id, reason: LeaveReason::MediaFailed });
                self.finish(S::Failed(FailReason::MediaFailure(why)));
            }
            (S::Connecting, Input::Tick) if self.deadline.is_some_and(|d| now >= d) => {
                let room_id = self.call.as_ref().map(|c| c.room_id.clone()).unwrap_or_default();
                actions.push(Action::LeaveRoom { room_id, reason: LeaveReason::Hangup });
                self.finish(S::Failed(FailReason::Timeout));
            }
            (S::Calling | S::Ringing, Input::Tick) => {
                if self.deadline.is_some_and(|d| now >= d) {
                    if let (S::Calling, Some(id)) = (&self.state, self.call.as_ref().and_then(|c| c.invite_id.clone()))
                    {
                        actions.push(Action::Cancel { invite_id: id });
                    }
                    self.finish(S::Ended(EndReason::Timeout));
                }
            }
            (_, Input::Tick) => {}
            // Events about other or finished invitations and rooms change nothing.
            (
                _,
                Input::InviteeAccepted { .. }
                | Input::InviteeRejected { .. }
                | Input::InvitationCancelled { .. }
                | Input::InvitationTimeout { .. }
                | Input::AnsweredElsewhere { .. }
                | Input::InvitationClosed { .. }
                | Input::RoomEnded
                | Input::MemberJoined { .. }
                | Input::MemberLeft { .. },
            ) => {}
            (_, input) => return Err(self.illegal(&input)),
        }
        Ok(actions)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RING: Duration = Duration::from_secs(60);

    fn invitation(id: &str, from: &str) -> Invitation {
        Invitation {
            invite_id: id.into(),
            inviter: from.into(),
            invitees: vec!["me".into()],
            room_id: Some("room-1".into()),
            data: AvCall::invite(CallType::Audio, "room-1").to_data(),
            expires_at: None,
        }
    }

    use duet_protocol::AvCall;

    fn prepared() -> (CallMachine, Instant) {
        let mut m = CallMachine::new(RING);
        let now = Instant::now();
        m.handle(Input::Ready, now).expect("ready");
        m.take_changes();
        (m, now)
    }

    fn outgoing_connecting() -> (CallMachine, Instant) {
        let (mut m, now) = prepared();
        m.handle(Input::Dial { peer: "bob".into(), call_type: CallType::Video, room_id: "r".into() }, now)
            .expect("dial");
        m.handle(Input::InviteSent { invite_id: "i1".into(), ticket: Some("t".into()) }, now).expect("sent");
        let actions = m.handle(Input::InviteeAccepted { invite_id: "i1".into() }, now).expect("accepted");
        assert_eq!(actions, [Action::JoinRoom { room_id: "r".into(), ticket: "t".into() }]);
        (m, now)
    }

    #[test]
    fn an_answered_call_whose_peer_never_joins_the_room_fails_after_the_connecting_timeout() {
        let (mut m, now) = outgoing_connecting();
        assert_eq!(m.deadline(), Some(now + CONNECT_WITHIN), "connecting has a deadline");
        assert!(m.handle(Input::Tick, now + CONNECT_WITHIN - Duration::from_millis(1)).expect("tick").is_empty());
        let actions = m.handle(Input::Tick, now + CONNECT_WITHIN).expect("tick");
        assert_eq!(
            actions,
            [Action::LeaveRoom { room_id: "r".into(), reason: LeaveReason::Hangup }],
            "it leaves its room"
        );
        let changes = m.take_changes();
        assert_eq!(changes[changes.len() - 2..], [CallState::Failed(FailReason::Timeout), CallState::Prepared]);
        assert_eq!(m.deadline(), None);
    }

    #[test]
    fn a_peer_that_leaves_because_its_media_failed_fails_this_side_the_same_way() {
        let (mut m, now) = outgoing_connecting();
        m.handle(Input::RoomJoined { members: vec!["bob".into()], ice_servers: vec![] }, now).expect("joined");
        m.take_changes();
        m.handle(Input::MemberLeft { user: "bob".into(), reason: LeaveReason::MediaFailed }, now).expect("left");
        let why = FailReason::MediaFailure(media_unreachable("bob"));
        assert_eq!(m.take_changes(), [CallState::Failed(why), CallState::Prepared], "not a hang-up");

        // This side's own watchdog tells the peer why it leaves.
        let (mut m, now) = outgoing_connecting();
        let actions = m.handle(Input::MediaFailed("no path".into()), now).expect("failed");
        assert_eq!(actions, [Action::LeaveRoom { room_id: "r".into(), reason: LeaveReason::MediaFailed }]);
    }

    #[test]
    fn a_call_both_joined_has_no_connecting_deadline() {
        let (mut m, now) = outgoing_connecting();
        m.handle(Input::RoomJoined { members: vec!["bob".into()], ice_servers: vec![] }, now).expect("joined");
        assert_eq!(m.state(), &CallState::Connected);
        assert_eq!(m.deadline(), None);
        assert!(m.handle(Input::Tick, now + CONNECT_WITHIN * 2).expect("tick").is_empty(), "the call goes on");
        assert_eq!(m.state(), &CallState::Connected);
    }

    #[test]
    fn an_outgoing_call_goes_calling_connecting_connected_and_ends_on_remote_hangup() {
        let (mut m, now) = outgoing_connecting();
        m.handle(Input::RoomJoined { members: vec![], ice_servers: vec![] }, now).expect("joined");
        assert_eq!(m.state(), &CallState::Connecting);
        m.handle(Input::MemberJoined { user: "bob".into() }, now).expect("peer");
        let actions =
            m.handle(Input::MemberLeft { user: "bob".into(), reason: LeaveReason::Hangup }, now).expect("left");
        assert_eq!(actions, [Action::LeaveRoom { room_id: "r".into(), reason: LeaveReason::Hangup }]);
        assert_eq!(
            m.take_changes(),
            [
                CallState::Calling,
                CallState::Connecting,
                CallState::Connected,
                CallState::Ended(EndReason::RemoteHangup),
                CallState::Prepared
            ]
        );
        assert!(m.call().is_none());
    }

    #[test]
    fn an_incoming_call_rings_and_accepting_joins_the_room() {
        let (mut m, now) = prepared();
        m.handle(Input::Invitation(invitation("i9", "alice")), now).expect("ring");
        assert_eq!(m.state(), &CallState::Ringing);
        assert_eq!(m.call().map(|c| c.call_type), Some(CallType::Audio));
        let actions = m.handle(Input::Accept { audio_only: false }, now).expect("accept");
        assert_eq!(actions, [Action::Accept { invite_id: "i9".into() }]);
        let actions = m.handle(Input::Accepted { ticket: Some("t".into()) }, now).expect("accepted");
        assert_eq!(actions, [Action::JoinRoom { room_id: "room-1".into(), ticket: "t".into() }]);
        m.handle(Input::RoomJoined { members: vec!["alice".into()], ice_servers: vec![] }, now).expect("joined");
        assert_eq!(m.state(), &CallState::Connected);
    }

    #[test]
    fn a_second_invitation_during_a_call_is_rejected_as_busy() {
        let (mut m, now) = outgoing_connecting();
        let actions = m.handle(Input::Invitation(invitation("other", "carol")), now).expect("busy");
        assert_eq!(actions, [Action::Reject { invite_id: "other".into(), reason: RejectReason::Busy }]);
        assert_eq!(m.state(), &CallState::Connecting, "the current call goes on");
    }

    #[test]
    fn a_redelivered_invitation_keeps_ringing_once() {
        let (mut m, now) = prepared();
        m.handle(Input::Invitation(invitation("i1", "alice")), now).expect("ring");
        let actions = m.handle(Input::Invitation(invitation("i1", "alice")), now).expect("again");
        assert!(actions.is_empty());
        assert_eq!(m.take_changes(), [CallState::Ringing]);
    }

    #[test]
    fn ringing_times_out_locally_when_the_server_never_says_so() {
        let (mut m, now) = prepared();
        m.handle(Input::Dial { peer: "bob".into(), call_type: CallType::Video, room_id: "r".into() }, now)
            .expect("dial");
        m.handle(Input::InviteSent { invite_id: "i1".into(), ticket: None }, now).expect("sent");
        let deadline = now + RING + RING_GRACE;
        assert!(m.handle(Input::Tick, deadline - Duration::from_millis(1)).expect("tick").is_empty());
        assert_eq!(m.state(), &CallState::Calling);
        let actions = m.handle(Input::Tick, deadline).expect("tick");
        assert_eq!(actions, [Action::Cancel { invite_id: "i1".into() }]);
        assert_eq!(m.take_changes()[1..], [CallState::Ended(EndReason::Timeout), CallState::Prepared]);

        m.handle(Input::Invitation(invitation("i2", "alice")), now).expect("ring");
        let actions = m.handle(Input::Tick, deadline).expect("tick");
        assert!(actions.is_empty(), "the server times the invitation out for the caller");
        assert_eq!(m.state(), &CallState::Prepared);
    }

    fn accepting(id: &str) -> (CallMachine, Instant) {
        let (mut m, now) = prepared();
        m.handle(Input::Invitation(invitation(id, "alice")), now).expect("ring");
        m.handle(Input::Accept { audio_only: false }, now).expect("accept");
        m.take_changes();
        (m, now)
    }

    #[test]
    fn an_accept_that_crossed_the_cancel_ends_cancelled_whichever_reached_the_server_first() {
        // The cancel first: the server refuses the accept, saying the call was cancelled.
        let (mut m, now) = accepting("i1");
        let actions = m.handle(Input::InvitationClosed { outcome: Outcome::Cancelled }, now).expect("refused");
        assert!(actions.is_empty(), "nothing to reject or leave");
        assert_eq!(m.take_changes(), [CallState::Ended(EndReason::Cancelled), CallState::Prepared]);
        // Its `invitation.cancelled`, queued behind the refusal, changes nothing.
        m.handle(Input::InvitationCancelled { invite_id: "i1".into() }, now).expect("late event");
        assert!(m.take_changes().is_empty());

        // The accept first: accepted and entering the room, then told of the cancel.
        let (mut m, now) = accepting("i1");
        m.handle(Input::Accepted { ticket: Some("t".into()) }, now).expect("accepted");
        let actions = m.handle(Input::InvitationCancelled { invite_id: "i1".into() }, now).expect("cancelled");
        assert_eq!(actions, [Action::LeaveRoom { room_id: "room-1".into(), reason: LeaveReason::Hangup }]);
        assert_eq!(m.take_changes(), [CallState::Ended(EndReason::Cancelled), CallState::Prepared]);

        // An accept that came too late for another reason says that reason.
        let (mut m, now) = accepting("i1");
        m.handle(Input::InvitationClosed { outcome: Outcome::Timeout }, now).expect("refused");
        assert_eq!(m.take_changes()[0], CallState::Ended(EndReason::Timeout));
        let (mut m, now) = accepting("i1");
        m.handle(Input::InvitationClosed { outcome: Outcome::Accepted }, now).expect("refused");
        assert_eq!(m.take_changes()[0], CallState::Ended(EndReason::AnsweredElsewhere));
    }

    #[test]
    fn after_a_reconnect_a_call_in_progress_joins_its_room_again_and_goes_on() {
        let (mut m, now) = outgoing_connecting();
        m.handle(Input::RoomJoined { members: vec!["bob".into()], ice_servers: vec![] }, now).expect("joined");
        m.take_changes();
        let actions = m.handle(Input::Reconnected, now).expect("back");
        assert_eq!(actions, [Action::JoinRoom { room_id: "r".into(), ticket: "t".into() }]);
        let fresh =
            IceServer { urls: vec!["turn:t.example:3478".into()], username: Some("u".into()), credential: None };
        m.handle(Input::RoomJoined { members: vec!["bob".into()], ice_servers: vec![fresh.clone()] }, now)
            .expect("rejoined");
        assert_eq!(m.state(), &CallState::Connected);
        assert!(m.take_changes().is_empty(), "nothing changes for the person");
        assert_eq!(m.call().map(|c| c.ice_servers.clone()), Some(vec![fresh]), "fresh TURN credentials kept");
        // The peer hung up while we were away: the room is gone.
        m.handle(Input::RoomEnded, now).expect("ended");
        assert_eq!(m.take_changes(), [CallState::Ended(EndReason::RemoteHangup), CallState::Prepared]);

        // Ringing, or an accept not yet confirmed, has no room to go back to.
        let (mut m, now) = accepting("i1");
        assert!(m.handle(Input::Reconnected, now).expect("back").is_empty());
        let (mut m, now) = prepared();
        m.handle(Input::Invitation(invitation("i2", "alice")), now).expect("ring");
        assert!(m.handle(Input::Reconnected, now).expect("back").is_empty());
        assert_eq!(m.state(), &CallState::Ringing);
    }

    #[test]
    fn a_lost_network_ends_the_call_on_both_sides_saying_so() {
        let (mut m, now) = outgoing_connecting();
        m.handle(Input::RoomJoined { members: vec!["bob".into()], ice_servers: vec![] }, now).expect("joined");
        m.take_changes();
        let actions = m.handle(Input::NetworkLost, now).expect("lost");
        assert_eq!(actions, [Action::LeaveRoom { room_id: "r".into(), reason: LeaveReason::NetworkLost }]);
        assert_eq!(m.take_changes(), [CallState::Ended(EndReason::NetworkLost), CallState::Prepared]);

        // The peer, whose own watchdog would fire a moment later, ends the same way.
        let (mut m, now) = outgoing_connecting();
        m.handle(Input::RoomJoined { members: vec!["bob".into()], ice_servers: vec![] }, now).expect("joined");
        m.take_changes();
        let left = LeaveReason::parse("network_lost");
        m.handle(Input::MemberLeft { user: "bob".into(), reason: left }, now).expect("left");
        assert_eq!(m.take_changes()[0], CallState::Ended(EndReason::NetworkLost));
    }

    #[test]
    fn a_room_everybody_left_before_we_got_in_ends_as_a_hang_up() {
        let (mut m, now) = accepting("i1");
        m.handle(Input::Accepted { ticket: Some("t".into()) }, now).expect("accepted");
        assert!(m.handle(Input::RoomEnded, now).expect("refused").is_empty(), "not in the room: nothing to leave");
        assert_eq!(m.take_changes(), [CallState::Ended(EndReason::RemoteHangup), CallState::Prepared]);
    }

    #[test]
    fn a_cancel_of_another_invitation_leaves_a_connecting_call_alone() {
        let (mut m, now) = accepting("i1");
        m.handle(Input::InvitationCancelled { invite_id: "other".into() }, now).expect("other");
        assert_eq!(m.state(), &CallState::Connecting);
        let (mut m, now) = outgoing_connecting();
        m.handle(Input::InvitationCancelled { invite_id: "i1".into() }, now).expect("not ours to hear");
        assert_eq!(m.state(), &CallState::Connecting, "only an invitee is told of a cancel");
    }

    #[test]
    fn a_failed_accept_is_turned_into_a_reject() {
        let (mut m, now) = prepared();
        m.handle(Input::Invitation(invitation("i1", "alice")), now).expect("ring");
        m.handle(Input::Accept { audio_only: true }, now).expect("accept");
        let actions = m.handle(Input::RequestFailed("network".into()), now).expect("failed");
        assert_eq!(actions, [Action::Reject { invite_id: "i1".into(), reason: RejectReason::Active }]);
        let changes = m.take_changes();
        assert_eq!(changes[changes.len() - 2], CallState::Failed(FailReason::Signaling("network".into())));
    }

    #[test]
    fn cancel_decline_reject_and_timeout_end_with_their_reasons() {
        let cases: [(Input, EndReason); 5] = [
            (Input::InviteeRejected { invite_id: "i1".into(), reason: RejectReason::Busy }, EndReason::Busy),
            (
                Input::InviteeRejected { invite_id: "i1".into(), reason: RejectReason::TestLineBusy },
                EndReason::TestLineBusy,
            ),
            (Input::InviteeRejected { invite_id: "i1".into(), reason: RejectReason::Active }, EndReason::Rejected),
            (Input::InvitationTimeout { invite_id: "i1".into() }, EndReason::Timeout),
            (Input::Hangup, EndReason::Cancelled),
        ];
        for (input, reason) in cases {
            let (mut m, now) = prepared();
            m.handle(Input::Dial { peer: "bob".into(), call_type: CallType::Video, room_id: "r".into() }, now)
                .expect("dial");
            m.handle(Input::InviteSent { invite_id: "i1".into(), ticket: None }, now).expect("sent");
            m.handle(input, now).expect("ends");
            assert_eq!(m.take_changes()[1..], [CallState::Ended(reason), CallState::Prepared]);
        }
        let (mut m, now) = prepared();
        m.handle(Input::Invitation(invitation("i1", "alice")), now).expect("ring");
        m.handle(Input::AnsweredElsewhere { invite_id: "i1".into() }, now).expect("elsewhere");
        assert_eq!(m.take_changes()[1], CallState::Ended(EndReason::AnsweredElsewhere));
        m.handle(Input::Invitation(invitation("i2", "alice")), now).expect("ring");
        m.handle(Input::InvitationCancelled { invite_id: "i2".into() }, now).expect("cancelled");
        assert_eq!(m.take_changes()[1], CallState::Ended(EndReason::Cancelled));
    }

    #[test]
    fn illegal_inputs_are_errors_and_change_nothing() {
        let mut m = CallMachine::new(RING);
        let now = Instant::now();
        let err = m.handle(Input::Dial { peer: "bob".into(), call_type: CallType::Video, room_id: "r".into() }, now);
        assert_eq!(err, Err(IllegalTransition { state: "idle", input: "Dial".into() }));
        let (mut m, now) = prepared();
        assert!(m.handle(Input::Accept { audio_only: false }, now).is_err());
        assert!(m.handle(Input::Hangup, now).is_err());
        assert!(m.handle(Input::RoomJoined { members: vec![], ice_servers: vec![] }, now).is_err());
        assert_eq!(m.state(), &CallState::Prepared);
        assert!(m.take_changes().is_empty());
        // Events about invitations that are not ours are ignored.
        assert_eq!(m.handle(Input::InviteeAccepted { invite_id: "stale".into() }, now), Ok(vec![]));
    }
}
