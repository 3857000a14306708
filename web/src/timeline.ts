/**
 * The chain as a row of hours: the page draws it, and the HTML report (src/report/) draws the
 * same hours from the same code.
 * @module
 */
export { HOUR_STATES, MAX_HOURS, timeline, type Hour, type HourState } from '../../src/report/timeline.js';
