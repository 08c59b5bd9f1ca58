//! Orders, strategies and the summary over the API, as a client drives them.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use zigquant_server::serve::Service;

use crate::harness::*;

#[tokio::test(flavor = "multi_thread")]
async fn orders_lifecycle_over_the_api() {
    let Service { app, .. } = service();
    wait_ready(&app).await; // orders need a first price
    let placed = send(
        &app,
        post_json(
            "/api/v1/orders",
            r#"{"pair":"BTC-USDT","side":"buy","type":"market","qty":0.001}"#,
        ),
    )
    .await;
    assert_eq!(placed.status, StatusCode::CREATED, "{}", placed.text());
    let order = placed.json();
    let id = order["id"].as_u64().expect("id");
    assert_eq!(order["strategy"], "manual");
    assert_eq!(order["pair"], "BTC-USDT");

    let fetched = get(&app, &format!("/api/v1/orders/{id}")).await;
    assert_eq!(fetched.status, StatusCode::OK);
    assert_eq!(fetched.json()["id"], id);

    // A limit order far below the market rests until cancelled.
    let resting = send(
        &app,
        post_json(
            "/api/v1/orders",
            r#"{"pair":"BTC-USDT","side":"buy","type":"limit","price":1.0,"qty":0.001}"#,
        ),
    )
    .await;
    assert_eq!(resting.status, StatusCode::CREATED, "{}", resting.text());
    let resting_id = resting.json()["id"].as_u64().unwrap();
    let mut cancelled = None;
    for _ in 0..50 {
        let answer = send(
            &app,
            authed(Method::DELETE, &format!("/api/v1/orders/{resting_id}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
        if answer.status == StatusCode::OK {
            cancelled = Some(answer.json());
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let cancelled = cancelled
        .unwrap_or_else(|| panic!("the resting order can be cancelled: {}", resting.text()));
    assert_eq!(cancelled["status"], "cancelled");
    let again = send(
        &app,
        authed(Method::DELETE, &format!("/api/v1/orders/{resting_id}"))
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(again.assert_error(StatusCode::CONFLICT), "already_final");
    assert_eq!(
        again.json()["error"]["message"],
        format!("order {resting_id} is already cancelled")
    );

    let listed = get(&app, "/api/v1/orders?strategy=manual&limit=10").await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.text());
    let listed = listed.json();
    assert!(listed["total"].as_u64().unwrap() >= 2);
    assert!(listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|o| o["strategy"] == "manual"));

    let missing = get(&app, "/api/v1/orders/987654321").await;
    missing.assert_error(StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread")]
async fn strategies_start_and_stop() {
    let Service { app, .. } = service();
    let list = get(&app, "/api/v1/strategies").await;
    assert_eq!(list.status, StatusCode::OK);
    let names: Vec<String> = list.json()["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap().to_string())
        .collect();
    assert!(names.contains(&"sma_cross".to_string()), "{names:?}");

    let stopped = send(
        &app,
        authed(Method::POST, "/api/v1/strategies/sma_cross/stop")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(stopped.status, StatusCode::OK, "{}", stopped.text());
    assert_eq!(stopped.json()["running"], false);
    let one = get(&app, "/api/v1/strategies/sma_cross").await;
    assert_eq!(one.json()["running"], false);
    assert_eq!(
        sample(
            &scrape(&app).await,
            "zigquant_strategy_running{strategy=\"sma_cross\"}"
        ),
        Some(0.0)
    );
    let started = send(
        &app,
        authed(Method::POST, "/api/v1/strategies/sma_cross/start")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(started.json()["running"], true);
    let unknown = get(&app, "/api/v1/strategies/nope").await;
    unknown.assert_error(StatusCode::NOT_FOUND);
}

/// A request that passes validation becomes an order: 201 with the order, whatever the risk
/// check or the exchange then decides; a reject is the order's status and reason (README, API
/// contract in the OpenAPI document).
#[tokio::test(flavor = "multi_thread")]
async fn a_risk_rejected_order_is_created_with_status_rejected() {
    let Service { app, .. } = service();
    wait_ready(&app).await;
    let answer = send(
        &app,
        post_json(
            "/api/v1/orders",
            r#"{"pair":"BTC-USDT","side":"buy","type":"market","qty":5}"#,
        ),
    )
    .await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.text());
    let order = answer.json();
    assert_eq!(order["status"], "rejected", "{order}");
    assert_eq!(order["reject_reason"], "risk_limit", "{order}");
    let id = order["id"].as_u64().unwrap();
    let fetched = get(&app, &format!("/api/v1/orders/{id}")).await.json();
    assert_eq!(fetched["status"], "rejected");
}

#[tokio::test(flavor = "multi_thread")]
async fn summary_and_health() {
    let Service { app, .. } = service();
    let health = send(&app, Request::get("/health").body(Body::empty()).unwrap()).await;
    assert_eq!(health.status, StatusCode::OK);
    let summary = get(&app, "/api/v1/metrics").await;
    assert_eq!(summary.status, StatusCode::OK);
    let summary = summary.json();
    for key in [
        "trades_total",
        "orders_total",
        "uptime_seconds",
        "max_drawdown",
        "var_95",
        "strategies",
    ] {
        assert!(summary.get(key).is_some(), "{key} in {summary}");
    }
    wait_ready(&app).await;
}
