// What the simulator's agents measure of their own receipt, for the benches and specs that ask
// where a coordination's time goes: how long after its record was written each dispatched message
// reached the agents' consumer, how many reached it after their ttl (dropped unanswered), and how
// long the acks waited between their arrival time and the broker taking them.
import { nearestRank } from '../coordinator/kpis';

export interface ReceiptFigures {
  readonly received: number;
  /** Receipt - the MessageDispatched record's timestamp, ms. */
  readonly lagP50: number | null;
  readonly lagP99: number | null;
  readonly lagMax: number | null;
  readonly pastTtl: number;
  readonly acksSent: number;
  /** When the broker took an ack - its arrival time, ms. */
  readonly ackSendP50: number | null;
  readonly ackSendP99: number | null;
}

export class ReceiptStats {
  private lags: number[] = [];
  private ackSends: number[] = [];
  private pastTtl = 0;

  received(lagMs: number): void { this.lags.push(lagMs); }
  expired(): void { this.pastTtl++; }
  acked(waitMs: number): void { this.ackSends.push(waitMs); }

  /** The figures since the last take, and a fresh start. */
  take(): ReceiptFigures {
    const f: ReceiptFigures = {
      received: this.lags.length, lagP50: nearestRank(this.lags, 50), lagP99: nearestRank(this.lags, 99), lagMax: this.lags.reduce<number | null>((m, x) => (m === null || x > m ? x : m), null),
      pastTtl: this.pastTtl, acksSent: this.ackSends.length, ackSendP50: nearestRank(this.ackSends, 50), ackSendP99: nearestRank(this.ackSends, 99),
    };
    this.lags = [];
    this.ackSends = [];
    this.pastTtl = 0;
    return f;
  }
}
