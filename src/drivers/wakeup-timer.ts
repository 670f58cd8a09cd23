/**
 * One timer armed at a sans-IO object's `nextWakeup()` (quinn's `drive_timer`): re-arming
 * replaces the previous deadline, and a deadline beyond setTimeout's range is clamped (waking
 * early is harmless: the object just reports its next wakeup again).
 * @module
 */
const MAX_TIMER_MS = 2 ** 31 - 1;

export class WakeupTimer {
  private timer: NodeJS.Timeout | null = null;

  /**
   * @param onWake - runs when the deadline passes
   * @param keepsAlive - false: the timer alone does not keep the process running
   */
  constructor(
    private readonly onWake: () => void,
    private readonly keepsAlive = true,
  ) {}

  /** Arms the timer for monotonic time `at` (null: disarm). */
  arm(at: number | null, now: number): void {
    this.clear();
    if (at === null || !Number.isFinite(at)) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.onWake();
    }, Math.max(0, Math.min(MAX_TIMER_MS, at - now)));
    if (!this.keepsAlive) this.timer.unref();
  }

  clear(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }
}
