import { describe, expect, it } from 'vitest';
import { stepsFromHistory } from '../../src/api/workflow-runs';
import { PROVISIONING_STEPS } from '../../src/workflows/provision-new-customer';
import { REDEEM_STEP_OF_ACTIVITY, REDEEM_STEPS } from '../../src/workflows/redeem';
import { HISTORIES_DIR, loadHistory } from '../helpers/replay';

describe('the provisioning step view rebuilt from history alone (closed workflow, no worker)', () => {
  const steps = stepsFromHistory(loadHistory(`${HISTORIES_DIR}provision-new-customer.json`), PROVISIONING_STEPS);

  it('has every step, succeeded, with attempts, times, inputs and outputs', () => {
    expect(steps.map((s) => [s.name, s.status, s.attempts])).toEqual(
      PROVISIONING_STEPS.map((n) => [n, 'succeeded', 1]),
    );
    for (const s of steps) {
      expect(s.started_at && s.finished_at && s.started_at <= s.finished_at, s.name).toBe(true);
      expect(s.last_error).toBeNull();
    }
    const customer = steps[0];
    expect(customer?.input).toEqual({ name: 'fixture-co Inc', slug: 'fixture-co', country: 'US' });
    expect(customer?.output).toMatchObject({ slug: 'fixture-co', country: 'US' });
  });

  it('lists the inputs of a step made of several activities (the admin list, then one per admin)', () => {
    const admins = steps.find((s) => s.name === 'create_enterprise_admin_users');
    const customerUuid = (steps[0]?.output as { uuid: string } | undefined)?.uuid;
    expect(Array.isArray(admins?.input)).toBe(true);
    expect(((admins?.input ?? []) as unknown[]).slice(1)).toEqual([
      { customerUuid, email: 'admin@fixture-co.example.com' },
      { customerUuid, email: 'admin1@fixture-co.example.com' },
    ]);
    expect(((admins?.output ?? []) as unknown[]).slice(1)).toEqual(['pending-created', 'pending-created']);
  });
});

describe('the redemption step view rebuilt from history alone (steps run as local activities)', () => {
  const view = (file: string) =>
    stepsFromHistory(loadHistory(`${HISTORIES_DIR}${file}`), REDEEM_STEPS, REDEEM_STEP_OF_ACTIVITY);

  it('reads each step from its local activity marker, two steps sharing one where they do', () => {
    const steps = view('redeem-local-activities.json');
    expect(steps.map((s) => [s.name, s.status, s.attempts])).toEqual(REDEEM_STEPS.map((n) => [n, 'succeeded', 1]));
    const commit = steps.find((s) => s.name === 'commit_transaction');
    expect(commit?.output).toMatchObject({ state: 'committed' });
  });

  it('shows the failed enrollment with the lms’s words', () => {
    const steps = view('redeem-local-activities-compensated.json');
    const enroll = steps.find((s) => s.name === 'enroll');
    expect(enroll).toMatchObject({ status: 'failed' });
    expect(enroll?.last_error).toContain('HTTP 400');
    expect(steps.find((s) => s.name === 'commit_transaction')?.status).toBe('pending');
  });
});
