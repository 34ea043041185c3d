import { describe, expect, it } from '@jest/globals';
import { FIGURE_NAMES, type Figures } from '../monitoring/figures.js';
import { holds, type AlertRule } from './alert-model.js';
import { RuleEngine, type AlertTransition } from './rule-engine.js';

const quiet = Object.fromEntries(FIGURE_NAMES.map((name) => [name, 0])) as Figures;
const figures = (active: number): Figures => ({ ...quiet, active_connections: active });

function rule(overrides: Partial<AlertRule> = {}): AlertRule {
  return {
    id: 'r1',
    name: 'busy',
    metric: 'active_connections',
    op: '>=',
    threshold: 10,
    forSeconds: 0,
    severity: 'warning',
    cooldownSeconds: 0,
    channels: [],
    enabled: true,
    ...overrides,
  };
}

const phaseOf = (engine: RuleEngine, ruleId: string) =>
  engine.alerts().find((alert) => alert.rule.id === ruleId)?.phase ?? 'inactive';

const brief = (transitions: AlertTransition[]) =>
  transitions.map((t) => [t.status, t.value, t.notify, t.startedAt, t.resolvedAt]);

describe('holds', () => {
  it.each([
    [5, '>', 4, true],
    [4, '>', 4, false],
    [4, '>=', 4, true],
    [3, '>=', 4, false],
    [3, '<', 4, true],
    [4, '<', 4, false],
    [4, '<=', 4, true],
    [5, '<=', 4, false],
  ] as const)('%d %s %d is %s', (value, op, threshold, expected) => {
    expect(holds(value, op, threshold)).toBe(expected);
  });
});

describe('RuleEngine', () => {
  it('fires at once without forSeconds, stays quiet while firing, resolves when the condition ends', () => {
    const engine = new RuleEngine();
    const rules = [rule()];
    expect(engine.evaluate(rules, figures(3), 1_000)).toEqual([]);
    expect(brief(engine.evaluate(rules, figures(12), 2_000))).toEqual([['firing', 12, true, 2_000, undefined]]);
    expect(engine.evaluate(rules, figures(15), 3_000)).toEqual([]);
    expect(engine.alerts()).toEqual([expect.objectContaining({ phase: 'firing', value: 15, since: 2_000 })]);
    expect(brief(engine.evaluate(rules, figures(4), 4_000))).toEqual([['resolved', 4, true, 2_000, 4_000]]);
    expect(phaseOf(engine, 'r1')).toBe('inactive');
  });

  it('waits out forSeconds in pending, and forgets a condition that ends before', () => {
    const engine = new RuleEngine();
    const rules = [rule({ forSeconds: 2 })];
    expect(engine.evaluate(rules, figures(10), 0)).toEqual([]);
    expect(phaseOf(engine, 'r1')).toBe('pending');
    expect(engine.evaluate(rules, figures(10), 1_999)).toEqual([]);
    // Ends while pending: nothing to resolve, and the clock starts over.
    expect(engine.evaluate(rules, figures(1), 2_500)).toEqual([]);
    expect(phaseOf(engine, 'r1')).toBe('inactive');
    expect(engine.evaluate(rules, figures(10), 3_000)).toEqual([]);
    expect(engine.evaluate(rules, figures(10), 4_999)).toEqual([]);
    expect(brief(engine.evaluate(rules, figures(11), 5_000))).toEqual([['firing', 11, true, 5_000, undefined]]);
  });

  it('suppresses a firing inside the cooldown of the last firing notification, never a resolve', () => {
    const engine = new RuleEngine();
    const rules = [rule({ cooldownSeconds: 60 })];
    const at = (seconds: number, active: number) => brief(engine.evaluate(rules, figures(active), seconds * 1000));
    expect(at(0, 10)).toEqual([['firing', 10, true, 0, undefined]]);
    expect(at(10, 0)).toEqual([['resolved', 0, true, 0, 10_000]]);
    expect(at(20, 10)).toEqual([['firing', 10, false, 20_000, undefined]]);
    expect(at(30, 0)).toEqual([['resolved', 0, true, 20_000, 30_000]]);
    // The cooldown counts from the last *notified* firing (0 s), not the suppressed one (20 s).
    expect(at(60, 10)).toEqual([['firing', 10, true, 60_000, undefined]]);
  });

  it('resolves a firing alert whose rule was disabled or deleted, with its last value', () => {
    const engine = new RuleEngine();
    engine.evaluate([rule({ id: 'a' }), rule({ id: 'b' })], figures(20), 0);
    const disabled = engine.evaluate([rule({ id: 'a', enabled: false }), rule({ id: 'b' })], figures(20), 1_000);
    expect(disabled.map((t) => [t.rule.id, t.status, t.value])).toEqual([['a', 'resolved', 20]]);
    const deleted = engine.evaluate([], figures(20), 2_000);
    expect(deleted.map((t) => [t.rule.id, t.status, t.resolvedAt])).toEqual([['b', 'resolved', 2_000]]);
    expect(engine.alerts()).toEqual([]);
  });

  it('judges an edited rule by its new condition from the next snapshot', () => {
    const engine = new RuleEngine();
    engine.evaluate([rule()], figures(12), 0);
    const raised = engine.evaluate([rule({ threshold: 50, name: 'very busy' })], figures(12), 1_000);
    expect(raised.map((t) => [t.status, t.rule.name, t.rule.threshold])).toEqual([['resolved', 'very busy', 50]]);
  });

  it('ignores a figure that is not a finite number (monitoring could not compute it)', () => {
    const engine = new RuleEngine();
    const rules = [rule()];
    engine.evaluate(rules, figures(12), 0);
    expect(engine.evaluate(rules, { ...quiet, active_connections: Number.NaN }, 1_000)).toEqual([]);
    expect(phaseOf(engine, 'r1')).toBe('firing');
  });

  it('keeps rules independent and lists live alerts oldest first', () => {
    const engine = new RuleEngine();
    const rules = [
      rule({ id: 'conn' }),
      rule({ id: 'cap', metric: 'capacity_ratio', threshold: 0.9, forSeconds: 1 }),
      rule({ id: 'low', op: '<', threshold: 1 }),
    ];
    expect(engine.evaluate(rules, { ...quiet, active_connections: 0 }, 0).map((t) => t.rule.id)).toEqual(['low']);
    const busy = { ...quiet, active_connections: 30, capacity_ratio: 0.95 };
    expect(brief(engine.evaluate(rules, busy, 500))).toEqual([
      ['firing', 30, true, 500, undefined],
      ['resolved', 30, true, 0, 500],
    ]);
    expect(engine.alerts().map((a) => [a.rule.id, a.phase])).toEqual([
      ['conn', 'firing'],
      ['cap', 'pending'],
    ]);
    expect(engine.evaluate(rules, busy, 1_500).map((t) => [t.rule.id, t.status])).toEqual([['cap', 'firing']]);
  });
});
