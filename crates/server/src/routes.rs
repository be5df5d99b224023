//! HTTP routes: health, metrics, accounts, the speed-test ticket and the WebSocket endpoint.

use std::sync::Arc;

use axum::extract::rejection::JsonRejection;
use axum::extract::{State, WebSocketUpgrade};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use duet_protocol::speedtest::SPEEDTEST_PATH;
use duet_protocol::{ErrorCode, HttpError, LoginRequest, RegisterRequest, TokenResponse, WS_PATH};
use tokio_util::task::TaskTracker;

use crate::crypto::{TokenError, verify_password};
use crate::hub::Hub;
use crate::speedtest::SpeedTests;
use crate::{conn, now_ms};

/// Largest WebSocket message the transport reads; larger ones close the connection.
/// Messages between this and the protocol's 64 KiB limit get `bad_request`.
const MAX_TRANSPORT_MESSAGE: usize = 1 << 20;

#[derive(Debug, Clone)]
struct App {
    hub: Arc<Hub>,
    sockets: TaskTracker,
    speed_tests: Arc<SpeedTests>,
}

/// The router of the whole server. `sockets` tracks upgraded connections so
/// shutdown can wait for them.
pub fn router(hub: Arc<Hub>, sockets: TaskTracker, speed_tests: Arc<SpeedTests>) -> Router {
    Router::new()
        .route("/health", get(health))
        .route("/metrics", get(metrics))
        .route("/v1/register", post(register))
        .route("/v1/login", post(login))
        .route(SPEEDTEST_PATH, post(speed_test))
        .route(WS_PATH, get(websocket))
        .with_state(App { hub, sockets, speed_tests })
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

/// The user a request's `Authorization: Bearer <token>` belongs to, or why not.
fn bearer_user(hub: &Hub, headers: &HeaderMap) -> Result<String, (ErrorCode, &'static str)> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or((ErrorCode::Unauthorized, "sign in first"))?;
    match hub.signer.verify_token(token.trim(), now_ms()) {
        Ok(claims) => Ok(claims.sub),
        Err(TokenError::Expired) => Err((ErrorCode::TokenExpired, "your sign-in has expired; log in again")),
        Err(TokenError::Invalid) => Err((ErrorCode::Unauthorized, "the sign-in token is not valid")),
    }
}

/// A speed-test session (seed 004 warns against testing during a call, as the
/// test's traffic would spoil it: refused while the user is in one).
async fn speed_test(State(app): State<App>, headers: HeaderMap) -> Response {
    let user = match bearer_user(&app.hub, &headers) {
        Ok(user) => user,
        Err((code, message)) => return http_error(StatusCode::UNAUTHORIZED, code, message),
    };
    if app.hub.in_call(&user) {
        return http_error(
            StatusCode::CONFLICT,
            ErrorCode::Forbidden,
            "a speed test cannot run during a call; try again when the call has ended",
        );
    }
    match app.speed_tests.open(&user) {
        Some(ticket) => Json(ticket).into_response(),
        None => http_error(
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::RateLimited,
            "the server is running too many speed tests; try again in a minute",
        ),
    }
}
