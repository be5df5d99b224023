//! Signed POSTs to webhook and push endpoints. Every delivery is stored before it
//! is attempted and removed only after a 2xx answer or when it is too old, so
//! deliveries survive restarts. Schedule (the seed's): one immediate retry, then
//! every `retry_interval` until the event is `max_age` old.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::config::Endpoints;
use crate::crypto::webhook_headers;
use crate::metrics::Metrics;
use crate::store::{Delivery, DeliveryKind, Store};
use crate::{Result, now_ms};

/// Deliveries attempted concurrently.
const BATCH: u32 = 64;

/// The outgoing POST queue.
#[derive(Debug)]
pub struct Deliveries {
    store: Arc<dyn Store>,
    webhooks: Endpoints,
    push: Endpoints,
    metrics: Arc<Metrics>,
    wake: Notify,
    http: reqwest::Client,
}

impl std::fmt::Debug for dyn Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Store")
    }
}

impl Deliveries {
    pub fn new(store: Arc<dyn Store>, webhooks: Endpoints, push: Endpoints, metrics: Arc<Metrics>) -> Deliveries {
        Deliveries { store, webhooks, push, metrics, wake: Notify::new(), http: reqwest::Client::new() }
    }

    fn endpoints(&self, kind: DeliveryKind) -> &Endpoints {
        match kind {
            DeliveryKind::Webhook => &self.webhooks,
            DeliveryKind::Push => &self.push,
        }
    }

    /// Whether any endpoint of `kind` is configured.
    pub fn enabled(&self, kind: DeliveryKind) -> bool {
        !self.endpoints(kind).urls.is_empty()
    }

    /// Stores `body` for every endpoint of `kind` and wakes the worker.
    pub fn enqueue(&self, kind: DeliveryKind, body: &str) -> Result<()> {
        let now = now_ms();
        let id = format!("msg_{}", uuid::Uuid::new_v4().simple());
        for url in &self.endpoints(kind).urls {
            let delivery = Delivery {
                id: id.clone(),
                kind,
                url: url.clone(),
                body: body.to_string(),
                created_at: now,
                attempts: 0,
                next_at: now,
            };
            self.store.enqueue_delivery(&delivery)?;
        }
        self.wake.notify_one();
        Ok(())
    }

    /// Delivers until `stop` is cancelled. What is not delivered stays stored.
    pub async fn run(self: Arc<Self>, stop: CancellationToken) {
        loop {
            let due = match self.store.due_deliveries(now_ms(), BATCH) {
                Ok(due) => due,
                Err(e) => {
                    tracing::error!("cannot read pending deliveries: {e}");
                    Vec::new()
                }
            };
            if due.is_empty() {
                let wait = match self.store.next_delivery_at() {
                    Ok(Some(at)) => Duration::from_millis(at.saturating_sub(now_ms())),
                    _ => Duration::from_secs(3600),
                };
                tokio::select! {
                    _ = stop.cancelled() => return,
                    _ = self.wake.notified() => {}
                    _ = tokio::time::sleep(wait) => {}
                }
                continue;
            }
            let attempts = due.into_iter().map(|d| self.attempt(d));
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = futures_util::future::join_all(attempts) => {}
            }
        }
    }

    async fn attempt(&self, d: Delivery) {
        let endpoints = self.endpoints(d.kind);
        let now = now_ms();
        let mut request = self
            .http
            .post(&d.url)
            .timeout(endpoints.timeout)
            .header("content-type", "application/json")
            .body(d.body.clone());
        for (name, value) in webhook_headers(&endpoints.key, &d.id, now / 1000, &d.body) {
            request = request.header(name, value);
        }
        let ok = match request.send().await {
            Ok(response) if response.status().is_success() => true,
            Ok(response) => {
                tracing::warn!(url = %d.url, status = %response.status(), "delivery refused");
                false
            }
            Err(e) => {
                tracing::warn!(url = %d.url, "delivery failed: {e}");
                false
            }
        };
        let result = if ok {
            self.metrics.delivered(d.kind);
            self.store.remove_delivery(&d.id, &d.url)
        } else {
            self.metrics.delivery_failed(d.kind);
            let attempts = d.attempts + 1;
            let now = now_ms();
            let next_at = if attempts == 1 { now } else { now + endpoints.retry_interval.as_millis() as u64 };
            if next_at > d.created_at + endpoints.max_age.as_millis() as u64 {
                self.metrics.delivery_dropped(d.kind);
                tracing::warn!(url = %d.url, id = %d.id, "delivery given up after {attempts} attempts");
                self.store.remove_delivery(&d.id, &d.url)
            } else {
                self.store.reschedule_delivery(&d.id, &d.url, attempts, next_at)
            }
        };
        if let Err(e) = result {
            tracing::error!("cannot update delivery {}: {e}", d.id);
        }
    }
}
