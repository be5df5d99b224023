//! A minimal headless phone, to watch a call being signaled against a running
//! `duet-server`. Prints every event as it happens.
//!
//! ```sh
//! cargo run -p duet-client --example phone -- http://127.0.0.1:8443 <TOKEN> answer
//! cargo run -p duet-client --example phone -- http://127.0.0.1:8443 <TOKEN> call bob
//! ```
//! `answer` accepts the first incoming call; `call PEER` calls and hangs up after 5 s
//! of being connected.

use std::time::Duration;

use duet_client::{CallEvent, CallManager, CallState, ClientConfig, ManagerConfig};
use duet_protocol::CallType;

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (server, token, command) = match args.as_slice() {
        [server, token, command, ..] => (server.clone(), token.clone(), command.as_str()),
        _ => {
            eprintln!("usage: phone SERVER_URL TOKEN answer | call PEER");
            std::process::exit(2);
        }
    };
    let peer = args.get(3).cloned();
    let (manager, mut events) = CallManager::start(ManagerConfig::new(ClientConfig::new(server, token)));
    while let Some(event) = events.recv().await {
        println!("{event:?}");
        match event {
            CallEvent::State { state: CallState::Prepared, .. } if command == "call" => {
                let Some(peer) = peer.clone() else {
                    eprintln!("call needs a PEER");
                    std::process::exit(2);
                };
                if let Err(e) = manager.dial(&peer, CallType::Video).await {
                    eprintln!("cannot call {peer}: {e}");
                }
                // Dial once; later returns to `prepared` end the program below.
                return wait_for_end(manager, events).await;
            }
            CallEvent::State { state: CallState::Ringing, .. } if command == "answer" => {
                if let Err(e) = manager.accept(false).await {
                    eprintln!("cannot accept: {e}");
                }
            }
            CallEvent::State { state: CallState::Ended(_), .. } if command == "answer" => return,
            CallEvent::Connection(duet_client::ClientEvent::AuthFailed { message, .. }) => {
                eprintln!("{message}");
                std::process::exit(1);
            }
            _ => {}
        }
    }
}

async fn wait_for_end(manager: CallManager, mut events: tokio::sync::mpsc::UnboundedReceiver<CallEvent>) {
    while let Some(event) = events.recv().await {
        println!("{event:?}");
        match event {
            CallEvent::State { state: CallState::Connected, .. } => {
                tokio::time::sleep(Duration::from_secs(5)).await;
                let _ = manager.hangup().await;
            }
            CallEvent::State { state: CallState::Ended(_) | CallState::Failed(_), .. } => {
                // Print the return to `prepared`, then stop.
                if let Some(next) = events.recv().await {
                    println!("{next:?}");
                }
                return;
            }
            _ => {}
        }
    }
}
