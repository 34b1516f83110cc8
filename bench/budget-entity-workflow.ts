/**
 * The alternative to the row lock that the issue asks to measure: one long-lived workflow per
 * budget that serializes reservations itself (an update per reservation). Bundled only by
 * bench/reserve-serialization.ts; the product does not use it.
 */
import { condition, defineSignal, defineUpdate, setHandler } from '@temporalio/workflow';

export const reserveUpdate = defineUpdate<{ ok: boolean; spent: number }, [number]>('reserve');
export const closeSignal = defineSignal('close');

export async function budgetEntity(limit: number): Promise<number> {
  let spent = 0;
  let closed = false;
  setHandler(reserveUpdate, (amount: number) => {
    if (spent + amount > limit) return { ok: false, spent };
    spent += amount;
    return { ok: true, spent };
  });
  setHandler(closeSignal, () => {
    closed = true;
  });
  await condition(() => closed);
  return spent;
}
