// A fuzzed record keeps its verdict when a later run sends it (soak seed 969618, issue 15). The
// soak sends one seeded flood three times, minutes apart (reference, control, kills). Its records
// were judged against the moment they were generated but sent with the time of each sending, and
// the runner measures an event time against the record's timestamp. mesh.heartbeats 0/23 there,
// a SummaryDue whose flipped bytes dated it 6.4 min after its generation, was about 5.3 min ahead
// of its record in the reference and control runs (dead-lettered) and 4.8 min in the kill run,
// sent 96 s after it was generated: the impedance took it, as it should a record within the
// bound, and the soak counted the missing dead letter as a record lost to the kill.
import assert from 'node:assert/strict';
import { summaryDue, keyOf } from '../../../services/impedance/summary-due';
import { DLQ_HEADERS } from '../../../services/runtime/dead-letter';
import { readLog } from '../../../services/runtime/kafka/log-reader';
import { dlqName } from '../../../topics/catalog';
import { refusal, sendFuzz, type Fuzzed } from '../../support/fuzz';
import { startImpedance, useImpedanceWorld, waitCaughtUp } from '../impedance/support';

const TOPIC = 'mesh.heartbeats';
/** The runtime's default MAX_EVENT_TIME_SKEW_MS. */
const BOUND_MS = 300_000;

describe('fuzz: a record sent by a later run keeps the verdict it was generated with (soak seed 969618)', function () {
  this.timeout(120_000);
  const w = useImpedanceWorld('fuzz-resent');

  it('given a SummaryDue judged 20 s past the event-time bound when it was generated a minute ago, when the fuzz sends it now, then the impedance dead-letters it as EVENT_TIME_SKEW and its record carries the generation time', async () => {
    const k = w.k;
    // given a record generated a minute before this run sends it, dated 20 s past the bound then
    const generatedMs = Date.now() - 60_000;
    const e = summaryDue(0, Math.floor(generatedMs / 5000) * 5000 * 1000, generatedMs + BOUND_MS + 20_000);
    const key = keyOf(0);
    const value = await k.codec.encode(k.topic(TOPIC), e);
    const f: Fuzzed = { topic: TOPIC, kind: 'raw', key, value, timestampMs: generatedMs, ...(await refusal(k, TOPIC, key, value, generatedMs)) };
    assert.match(f.invalid ?? '', /SummaryDue occurred_at .* is 5\.3 min ahead of its record's timestamp/);
    assert.equal(f.refusers, 1);
    // when the fuzz sends it (40 s within the bound of the moment it is sent) and the impedance reads it
    await sendFuzz(k, [f]);
    w.svc = await startImpedance(k, w.redisSrv.url);
    await waitCaughtUp(k, TOPIC);
    // then it is dead-lettered as the verdict says
    const dead = await readLog(k.brokers, k.codec, [{ topic: k.topic(dlqName(TOPIC)), partition: 0, from: 0 }], { decode: false });
    assert.deepEqual(dead.map((d) => `${d.headers[DLQ_HEADERS.sourcePartition]}/${d.headers[DLQ_HEADERS.sourceOffset]} ${d.headers[DLQ_HEADERS.errorClass]}`), [`${f.partition}/${f.offset} EVENT_TIME_SKEW`]);
    // because its record carries the time it was generated, not the time it was sent
    const [logged] = await readLog(k.brokers, k.codec, [{ topic: k.topic(TOPIC), partition: f.partition!, from: f.offset!, to: f.offset! + 1 }], { decode: false });
    assert.equal(logged?.timestampMs, generatedMs);
  });
});
