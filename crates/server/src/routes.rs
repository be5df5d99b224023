//! HTTP routes: health, metrics, accounts and the WebSocket endpoint.

use std::sync::Arc;

use axum::extract::rejection::JsonRejection;
use axum::extract::{State, WebSocketUpgrade};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use duet_protocol::{ErrorCode, HttpError, LoginRequest, RegisterRequest, TokenResponse, WS_PATH};
use tokio_util::task::TaskTracker;

use crate::crypto::verify_password;
use crate::hub::Hub;
use crate::{conn, now_ms};

/// Largest WebSocket message the transport reads; larger ones close the connection.
/// Messages between this and the protocol's 64 KiB limit get `bad_request`.
const MAX_TRANSPORT_MESSAGE: usize = 1 << 20;

#[derive(Debug, Clone)]
struct App {
    hub: Arc<Hub>,
    sockets: TaskTracker,
}

/// The router of the whole server. `sockets` tracks upgraded connections so
/// shutdown can wait for them.
pub fn router(hub: Arc<Hub>, sockets: TaskTracker) -> Router {
    Router::new()
        .route("/health", get(health))
        .route("/metrics", get(metrics))
        .route("/v1/register", post(register))
        .route("/v1/login", post(login))
        .route(WS_PATH, get(websocket))
        .with_state(App { hub, sockets })
}

async fn health() -> Json<serde_json::Value> {
    Json(serde_json::json!({ "status": "ok" }))
}

async fn metrics(State(app): State<App>) -> Response {
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], app.hub.metrics.render()).into_response()
}

async fn websocket(State(app): State<App>, ws: WebSocketUpgrade) -> Response {
    let token = app.sockets.token();
    ws.read_buffer_size(app.hub.config.ws_read_buffer)
        .write_buffer_size(0)
        .max_message_size(MAX_TRANSPORT_MESSAGE)
        .max_frame_size(MAX_TRANSPORT_MESSAGE)
        .on_upgrade(move |socket| async move {
            conn::serve(app.hub, socket).await;
            drop(token);
        })
}

fn http_error(status: StatusCode, code: ErrorCode, message: impl Into<String>) -> Response {
    (status, Json(HttpError { code, message: message.into() })).into_response()
}

fn bad_body(rejection: JsonRejection) -> Response {
    http_error(StatusCode::BAD_REQUEST, ErrorCode::BadRequest, rejection.body_text())
}

fn issue(hub: &Hub, user: &str) -> Response {
    let expires_at = now_ms() + hub.config.token_ttl.as_millis() as u64;
    let token = hub.signer.issue_token(user, expires_at);
    Json(TokenResponse { token, expires_at }).into_response()
}

async fn register(State(app): State<App>, body: Result<Json<RegisterRequest>, JsonRejection>) -> Response {
    let Json(req) = match body {
        Ok(body) => body,
        Err(rejection) => return bad_body(rejection),
    };
    let hub = app.hub;
    if !hub.config.open_registration {
        return http_error(
            StatusCode::FORBIDDEN,
            ErrorCode::Forbidden,
            "registration is closed on this server; ask an admin for an account",
        );
    }
    let result = tokio::task::spawn_blocking({
        let hub = hub.clone();
        move || crate::create_user(&*hub.store, &req.user_id, &req.display_name, &req.password).map(|()| req.user_id)
    })
    .await;
    match result {
        Ok(Ok(user)) => issue(&hub, &user),
        Ok(Err(e)) => {
            let status = if e.code() == ErrorCode::BadRequest {
                StatusCode::BAD_REQUEST
            } else {
                StatusCode::INTERNAL_SERVER_ERROR
            };
            http_error(status, e.code(), e.to_string())
        }
        Err(e) => http_error(StatusCode::INTERNAL_SERVER_ERROR, ErrorCode::Internal, e.to_string()),
    }
}

async fn login(State(app): State<App>, body: Result<Json<LoginRequest>, JsonRejection>) -> Response {
    let Json(req) = match body {
        Ok(body) => body,
        Err(rejection) => return bad_body(rejection),
    };
    let hub = app.hub;
    let checked = tokio::task::spawn_blocking({
        let hub = hub.clone();
        move || match hub.store.user(&req.user_id) {
            Ok(Some(user)) => Ok(verify_password(&req.password, &user.password_hash).then_some(user.id)),
            Ok(None) => Ok(None),
            Err(e) => Err(e),
        }
    })
    .await;
    match checked {
        Ok(Ok(Some(user))) => issue(&hub, &user),
        Ok(Ok(None)) => http_error(StatusCode::UNAUTHORIZED, ErrorCode::Unauthorized, "wrong user id or password"),
        Ok(Err(e)) => http_error(StatusCode::INTERNAL_SERVER_ERROR, ErrorCode::Internal, e.to_string()),
        Err(e) => http_error(StatusCode::INTERNAL_SERVER_ERROR, ErrorCode::Internal, e.to_string()),
    }
}
