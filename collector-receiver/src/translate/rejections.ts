/**
 * Collects the reasons items of one export request were rejected, keeping the message bounded:
 * the first few reasons verbatim, then "and N more". Pure; one instance per request.
 */
import type { Rejection } from './rows.js';

/** Reasons quoted in full in the partial-success message; the rest are only counted. */
export const MAX_QUOTED_REASONS = 5;

export class RejectionCollector {
  private rejectedItems = 0;
  private reasonCount = 0;
  private readonly quoted: string[] = [];

  /**
   * Records `items` rejected spans or points for one reason. `reason` is a function so the
   * message is only built for the reasons that will be quoted.
   */
  add(items: number, reason: () => string): void {
    if (items <= 0) return;
    this.rejectedItems += items;
    this.reasonCount++;
    if (this.quoted.length < MAX_QUOTED_REASONS) this.quoted.push(reason());
  }

  toRejection(): Rejection {
    if (this.rejectedItems === 0) return { rejected: 0, message: '' };
    const more = this.reasonCount - this.quoted.length;
    const message = more > 0 ? `${this.quoted.join('; ')}; and ${more} more` : this.quoted.join('; ');
    return { rejected: this.rejectedItems, message };
  }
}
