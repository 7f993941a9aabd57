//! One trace follows a lead from intake into routing: the trace context crosses the gRPC call
//! (made for a lead the policy pushes to a rep: routing keeps the turn order).

use leadpool_e2e::{Cluster, apply_policy, submit};
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider};
use tracing_subscriber::layer::SubscriberExt;

#[tokio::test]
async fn intake_and_routing_spans_of_one_submission_share_a_trace() {
    let exporter = InMemorySpanExporter::default();
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(exporter.clone())
        .build();
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
    let subscriber = tracing_subscriber::registry()
        .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("e2e")));
    // A current-thread runtime runs every service task on this thread, under this subscriber.
    let _guard = tracing::subscriber::set_default(subscriber);

    let cluster = Cluster::start().await;
    apply_policy(
        &mut cluster.routing().await,
        "apiVersion: leadpool.dev/v1\nkind: Policy\nreps: [{ id: alice, role: sdr }]\n\
         routing: { default: { assign: { strategy: round-robin, reps: [alice] } } }\n",
    )
    .await;
    submit(&mut cluster.intake().await, "form-traced", 70).await;
    cluster.stop().await;
    provider.force_flush().unwrap();

    let spans = exporter.get_finished_spans().unwrap();
    let find = |name: &str| {
        spans
            .iter()
            .find(|span| span.name == name)
            .unwrap_or_else(|| panic!("no span {name}"))
    };
    let submit_span = find("leadpool.v1.IntakeService/SubmitLead");
    let route_span = find("leadpool.v1.RoutingService/RouteLead");
    assert_eq!(
        route_span.span_context.trace_id(),
        submit_span.span_context.trace_id(),
        "routing continued intake's trace"
    );
    assert_ne!(
        route_span.parent_span_id,
        opentelemetry::trace::SpanId::INVALID
    );
}
