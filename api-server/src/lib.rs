//! api-server: the AURRA integration API, the ClimaSense device API and the
//! Automations API, as one axum `Router` over an injectable clock.
//!
//! Planned contents (issue 5): auth (OAuth client credentials, hashed device
//! keys), rate limits as the seeds tables give them, webhooks signed with
//! HMAC-SHA256, predictive maintenance, storage behind a trait, a `tick(now)`
//! entry point for time-driven work, and the OpenAPI spec at `/openapi.json`.
//!
//! Depends on `sim-core` for the `Clock` only. Nothing is implemented here yet.
