// traind_webhook_deliveries_total{outcome}: webhook delivery attempts of this process, for the
// webhook delivery worker to call once per attempt. Registered by src/metrics/registry.ts, so
// every process exports it (at 0 where nothing delivers).
import { Counter } from 'prom-client';

/** delivered: a 2xx answer; retrying: anything else, another attempt is scheduled; failed: no more attempts. */
export const WEBHOOK_OUTCOMES = ['delivered', 'retrying', 'failed'] as const;
export type WebhookOutcome = (typeof WEBHOOK_OUTCOMES)[number];

export const webhookDeliveries = new Counter({
  name: 'traind_webhook_deliveries_total',
  help: 'Webhook delivery attempts by outcome: delivered (2xx), retrying (failed, will be retried), failed (given up)',
  labelNames: ['outcome'] as const,
  registers: [],
});
// Every outcome is exported from the start (at 0), so rate() works before the first delivery.
for (const outcome of WEBHOOK_OUTCOMES) webhookDeliveries.inc({ outcome }, 0);

export function countWebhookDelivery(outcome: WebhookOutcome): void {
  webhookDeliveries.inc({ outcome });
}
