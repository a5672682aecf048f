import { PendingAnswers } from '../../src/cluster/answers';

describe('PendingAnswers', () => {
  afterEach(() => jest.useRealTimers());

  test('each answer reaches the question of its id, whatever the order', async () => {
    const pending = new PendingAnswers<string>();
    const ids: number[] = [];
    const first = pending.ask(1000, (id) => ids.push(id) > 0);
    const second = pending.ask(1000, (id) => ids.push(id) > 0);
    expect(new Set(ids).size).toBe(2);
    pending.answer(ids[1]!, 'two');
    pending.answer(ids[0]!, 'one');
    expect(await Promise.all([first, second])).toEqual(['one', 'two']);
  });

  test('a question that cannot be sent resolves undefined at once; an unknown id changes nothing', async () => {
    const pending = new PendingAnswers<string>();
    expect(await pending.ask(60_000, () => false)).toBeUndefined();
    expect(() => pending.answer(42, 'nobody asked')).not.toThrow();
  });

  test('no answer in time: undefined, and an answer after that is ignored', async () => {
    jest.useFakeTimers();
    const pending = new PendingAnswers<string>();
    let asked = 0;
    const waiting = pending.ask(500, (id) => (asked = id) > 0);
    jest.advanceTimersByTime(499);
    pending.answer(asked + 1, 'another id');
    jest.advanceTimersByTime(1);
    expect(await waiting).toBeUndefined();
    pending.answer(asked, 'too late');
    expect(jest.getTimerCount()).toBe(0);
  });

  test('abandon resolves every waiting question undefined and clears their timers', async () => {
    jest.useFakeTimers();
    const pending = new PendingAnswers<string>();
    const waits = [pending.ask(1000, () => true), pending.ask(1000, () => true)];
    pending.abandon();
    expect(await Promise.all(waits)).toEqual([undefined, undefined]);
    expect(jest.getTimerCount()).toBe(0);
  });
});
