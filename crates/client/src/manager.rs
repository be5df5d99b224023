//! Runs the [`CallMachine`] over a [`SignalingClient`]: user commands and server
//! events go in, requests go out, state changes are reported as [`CallEvent`]s.

use std::time::Duration;

use duet_protocol::{self as p, AvCall, CallType, ClientMessage, RejectReason, ServerMessage};
use serde_json::Value;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

use crate::call::{Action, CallInfo, CallMachine, CallState, Input, LeaveReason};
use crate::signaling::{ClientConfig, ClientEvent, SignalingClient};
use crate::{Error, Result, fresh_room_id};

/// Settings of a [`CallManager`].
#[derive(Debug, Clone)]
pub struct ManagerConfig {
    pub client: ClientConfig,
    /// How long an outgoing or incoming call rings before it times out.
    pub ring_timeout: Duration,
}

impl ManagerConfig {
    pub fn new(client: ClientConfig) -> ManagerConfig {
        ManagerConfig { client, ring_timeout: Duration::from_secs(60) }
    }
}

/// What the manager reports.
#[derive(Debug, Clone, PartialEq)]
pub enum CallEvent {
    /// The call state changed.
    State { state: CallState, call: Option<CallInfo> },
    /// The signaling connection changed (connected, reconnecting, refused).
    Connection(ClientEvent),
    /// A `room.signal` payload from the peer (SDP or ICE, for the media session).
    Signal { from: String, payload: Value },
    /// The peer's microphone/camera changed, with why it sends no audio or
    /// video when it said (`room.media`).
    PeerMedia { user: String, audio: bool, video: bool, audio_off: Option<p::MediaOff>, video_off: Option<p::MediaOff> },
    /// A member of the call's room lost its connection to the server
    /// (`online: false`, `room.member_away`) or came back on a new one in time
    /// (`online: true`, a resumed `room.member_joined`).
    PeerConnection { user: String, online: bool },
    /// A presence change of a watched user.
    Presence { user: String, status: p::Status },
    /// A request the driver made for the call failed.
    Error(String),
}

enum Command {
    Input(Input, oneshot::Sender<Result<()>>),
    Dial { peer: String, call_type: CallType, reply: oneshot::Sender<Result<()>> },
    ShutDown(oneshot::Sender<()>),
}

/// A handle to a running call manager.
#[derive(Debug, Clone)]
pub struct CallManager {
    commands: mpsc::UnboundedSender<Command>,
    client: SignalingClient,
}

impl std::fmt::Debug for Command {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Command")
    }
}

impl CallManager {
    /// Connects and starts the manager; events arrive on the returned receiver.
    pub fn start(config: ManagerConfig) -> (CallManager, mpsc::UnboundedReceiver<CallEvent>) {
        let (client, signaling) = SignalingClient::connect(config.client.clone());
        let (commands, rx) = mpsc::unbounded_channel();
        let (events, events_rx) = mpsc::unbounded_channel();
        let driver = Driver {
            client: client.clone(),
            machine: CallMachine::new(config.ring_timeout),
            events,
            keeping_alive: false,
        };
        tokio::spawn(driver.run(rx, signaling));
        (CallManager { commands, client }, events_rx)
    }

    /// The underlying connection, for requests outside calls (contacts, history).
    pub fn client(&self) -> &SignalingClient {
        &self.client
    }

    async fn send(&self, make: impl FnOnce(oneshot::Sender<Result<()>>) -> Command) -> Result<()> {
        let (tx, rx) = oneshot::channel();
        self.commands.send(make(tx)).map_err(|_| Error::Closed)?;
        rx.await.map_err(|_| Error::Closed)?
    }

    /// Calls `peer` in a fresh room.
    pub async fn dial(&self, peer: &str, call_type: CallType) -> Result<()> {
        self.send(|reply| Command::Dial { peer: peer.into(), call_type, reply }).await
    }

    pub async fn accept(&self, audio_only: bool) -> Result<()> {
        self.send(|reply| Command::Input(Input::Accept { audio_only }, reply)).await
    }

    pub async fn decline(&self) -> Result<()> {
        self.send(|reply| Command::Input(Input::Decline, reply)).await
    }

    /// Cancels an outgoing call or hangs up a connected one.
    pub async fn hangup(&self) -> Result<()> {
        self.send(|reply| Command::Input(Input::Hangup, reply)).await
    }

    /// Stops the manager and closes the connection once whatever the last call
    /// sent (leaving its room) has reached the server.
    pub async fn shut_down(&self) {
        let (tx, rx) = oneshot::channel();
        if self.commands.send(Command::ShutDown(tx)).is_ok() {
            let _ = rx.await;
        }
    }

    /// Reports that media stayed down too long; the call ends with `ended(network_lost)`.
    pub async fn network_lost(&self) -> Result<()> {
        self.send(|reply| Command::Input(Input::NetworkLost, reply)).await
    }

    /// Reports that media failed; the call ends with `failed(media_failure)`.
    pub async fn media_failed(&self, why: &str) -> Result<()> {
        self.send(|reply| Command::Input(Input::MediaFailed(why.into()), reply)).await
    }
}

struct Driver {
    client: SignalingClient,
    machine: CallMachine,
    events: mpsc::UnboundedSender<CallEvent>,
    /// Whether the connection is being checked with pings (while answered calls connect and run).
    keeping_alive: bool,
}

impl Driver {
    async fn run(
        mut self,
        mut commands: mpsc::UnboundedReceiver<Command>,
        mut signaling: mpsc::UnboundedReceiver<ClientEvent>,
    ) {
        loop {
            let deadline = self.machine.deadline();
            let tick = async {
                match deadline {
                    Some(at) => tokio::time::sleep_until(at).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                cmd = commands.recv() => match cmd {
                    None => { self.client.close(); return; }
                    Some(Command::Dial { peer, call_type, reply }) => {
                        let input = Input::Dial { peer, call_type, room_id: fresh_room_id() };
                        let result = self.feed(input).await;
                        let _ = reply.send(result);
                    }
                    Some(Command::Input(input, reply)) => {
                        let result = self.feed(input).await;
                        let _ = reply.send(result);
                    }
                    Some(Command::ShutDown(done)) => {
                        self.client.close_and_flush().await;
                        let _ = done.send(());
                        return;
                    }
                },
                event = signaling.recv() => {
                    let Some(event) = event else { return };
                    self.on_signaling(event).await;
                }
                _ = tick => { let _ = self.feed(Input::Tick).await; }
            }
        }
    }

    async fn on_signaling(&mut self, event: ClientEvent) {
        let input = match &event {
            ClientEvent::Connected { .. } => match self.machine.state() {
                CallState::Idle => Some(Input::Ready),
                // Back after a drop: a call in progress takes its place in the room again.
                _ => Some(Input::Reconnected),
            },
            ClientEvent::AuthFailed { .. } | ClientEvent::CertificateRejected { .. } => Some(Input::Reset),
            ClientEvent::Disconnected { .. } | ClientEvent::TokenRenewed { .. } => None,
            ClientEvent::Message(msg) => return self.on_message(msg.clone()).await,
        };
        let _ = self.events.send(CallEvent::Connection(event));
        if let Some(input) = input {
            let _ = self.feed(input).await;
        }
    }

    async fn on_message(&mut self, msg: ServerMessage) {
        let input = match msg {
            ServerMessage::Invitation(inv) => Input::Invitation(inv),
            ServerMessage::InviteeAccepted(a) => Input::InviteeAccepted { invite_id: a.invite_id },
            ServerMessage::InviteeRejected(a) => {
                let reason = AvCall::parse(&a.data).and_then(|c| c.reason).unwrap_or(RejectReason::Active);
                Input::InviteeRejected { invite_id: a.invite_id, reason }
            }
            ServerMessage::InvitationCancelled(c) => Input::InvitationCancelled { invite_id: c.invite_id },
            ServerMessage::InvitationTimeout(t) => Input::InvitationTimeout { invite_id: t.invite_id },
            ServerMessage::AnsweredElsewhere(a) => Input::AnsweredElsewhere { invite_id: a.invite_id },
            ServerMessage::MemberJoined(m) => {
                if m.resumed {
                    let _ = self.events.send(CallEvent::PeerConnection { user: m.user.clone(), online: true });
                }
                Input::MemberJoined { user: m.user }
            }
            ServerMessage::MemberAway(m) => {
                let _ = self.events.send(CallEvent::PeerConnection { user: m.user, online: false });
                return;
            }
            ServerMessage::MemberLeft(m) => Input::MemberLeft { user: m.user, reason: LeaveReason::parse(&m.reason) },
            ServerMessage::RoomSignal(s) => {
                let _ = self.events.send(CallEvent::Signal { from: s.from, payload: s.payload });
                return;
            }
            ServerMessage::RoomMedia(m) => {
                let _ = self.events.send(CallEvent::PeerMedia {
                    user: m.user,
                    audio: m.audio,
                    video: m.video,
                    audio_off: m.audio_off,
                    video_off: m.video_off,
                });
                return;
            }
            ServerMessage::PresenceChanged(c) => {
                let _ = self.events.send(CallEvent::Presence { user: c.user, status: c.status });
                return;
            }
            ServerMessage::PresenceOk(ok) => {
                for (user, status) in ok.users {
                    let _ = self.events.send(CallEvent::Presence { user, status });
                }
                return;
            }
            _ => return,
        };
        if let Err(e) = self.feed(input).await {
            tracing::debug!("ignored: {e}");
        }
    }

    /// Feeds an input, runs the resulting actions and reports state changes.
    async fn feed(&mut self, input: Input) -> Result<()> {
        let mut queue = vec![input];
        while let Some(input) = queue.pop() {
            let actions = self.machine.handle(input, Instant::now())?;
            self.report();
            for action in actions {
                if let Some(next) = self.execute(action).await {
                    queue.push(next);
                }
            }
        }
        Ok(())
    }

    fn report(&mut self) {
        for state in self.machine.take_changes() {
            let call = self.machine.call().cloned();
            let _ = self.events.send(CallEvent::State { state, call });
        }
        let in_call = matches!(self.machine.state(), CallState::Connecting | CallState::Connected);
        if in_call != self.keeping_alive {
            self.keeping_alive = in_call;
            self.client.keep_alive(in_call);
        }
    }

    /// Performs one action; returns the input its outcome produces.
    async fn execute(&mut self, action: Action) -> Option<Input> {
        match action {
            Action::Invite { peer, call_type, room_id, timeout_s } => {
                let data = AvCall::invite(call_type, room_id.clone()).to_data();
                let msg = ClientMessage::Invite(p::Invite {
                    req: None,
                    to: vec![peer],
                    room_id: Some(room_id),
                    data,
                    timeout_s,
                    online_only: false,
                    push: Some(p::PushInfo {
                        title: String::new(),
                        desc: format!("Incoming {} call", call_type.as_str()),
                        ext: String::new(),
                    }),
                });
                Some(match self.client.request(msg).await {
                    Ok(ServerMessage::InviteOk(ok)) => {
                        Input::InviteSent { invite_id: ok.invite_id, ticket: ok.room_ticket }
                    }
                    Ok(other) => Input::RequestFailed(format!("unexpected reply: {other:?}")),
                    Err(e) => Input::RequestFailed(e.to_string()),
                })
            }
            Action::Accept { invite_id } => {
                let msg = ClientMessage::Accept(p::Answer { req: None, invite_id, data: AvCall::plain().to_data() });
                Some(match self.client.request(msg).await {
                    Ok(ServerMessage::AcceptOk(ok)) => Input::Accepted { ticket: ok.room_ticket },
                    Ok(other) => Input::RequestFailed(format!("unexpected reply: {other:?}")),
                    Err(Error::InvitationClosed { outcome, .. }) => Input::InvitationClosed { outcome },
                    Err(e) => Input::RequestFailed(e.to_string()),
                })
            }
            Action::JoinRoom { room_id, ticket } => {
                let msg = ClientMessage::RoomJoin(p::RoomJoin { req: None, room_id, ticket });
                Some(match self.client.request(msg).await {
                    Ok(ServerMessage::RoomJoined(joined)) => {
                        Input::RoomJoined { members: joined.members, ice_servers: joined.ice_servers }
                    }
                    Ok(other) => Input::RequestFailed(format!("unexpected reply: {other:?}")),
                    Err(Error::InvitationClosed { outcome, .. }) => Input::InvitationClosed { outcome },
                    Err(Error::Server { code: p::ErrorCode::NotInRoom, .. }) => Input::RoomEnded,
                    Err(e) => Input::RequestFailed(e.to_string()),
                })
            }
            Action::Reject { invite_id, reason } => {
                let data = AvCall::reject(reason).to_data();
                self.fire(ClientMessage::Reject(p::Answer { req: None, invite_id, data }));
                None
            }
            Action::Cancel { invite_id } => {
                self.fire(ClientMessage::Cancel(p::Answer { req: None, invite_id, data: AvCall::plain().to_data() }));
                None
            }
            Action::LeaveRoom { room_id, reason } => {
                let reason = reason.as_str().to_owned();
                self.fire(ClientMessage::RoomLeave(p::RoomLeave { req: None, room_id, reason }));
                None
            }
        }
    }

    fn fire(&self, msg: ClientMessage) {
        if let Err(e) = self.client.send(msg) {
            let _ = self.events.send(CallEvent::Error(e.to_string()));
        }
    }
}
