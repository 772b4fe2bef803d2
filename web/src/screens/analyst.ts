import { ApiFailure, api, authHeader, call, type Session } from '../api';
import { h, replace } from '../dom';
import { formatDuration, formatNumber } from '../format';
import type { Screen } from '../screen';
import type { Shortcut } from '../shortcuts';
import { scanImageBase } from '../viewer';
import { type CaseAnswer, CaseWorkspace, type Decision, caseShortcuts } from '../workspace/case-workspace';

interface Claim {
  claimId: string;
  lockExpiresAt: string;
  scan: {
    id: string;
    stage: 'first' | 'second';
    stationName: string;
    pool: string;
    riskScore: number;
    receivedAt: string;
    slaDeadline: string | null;
    metadata: unknown;
    manifest: unknown;
  };
}

/**
 * The analyst's screen: next case (a claim with a lock kept alive by heartbeats), the case in the shared workspace
 * with its stage, risk, pool and SLA countdown, the verdict; a lost lock stops the case.
 */
export function analystScreen(_session: Session): Screen {
  const element = h('main', { class: 'analyst' });
  let claim: Claim | null = null;
  let workspace: CaseWorkspace | null = null;
  let heartbeat: number | undefined;
  let ticker: number | undefined;
  let lockLost = false;
  let busy = false;

  const releaseOnLeave = () => {
    if (!claim || lockLost) return;
    // keepalive lets the request outlive the page
    void fetch(`/api/v1/worklist/claims/${encodeURIComponent(claim.claimId)}`, { method: 'DELETE', keepalive: true, headers: authHeader() });
    claim = null;
  };
  window.addEventListener('pagehide', releaseOnLeave);

  function idle(message = '', tone: 'info' | 'warn' = 'info') {
    stopTimers();
    workspace?.destroy();
    workspace = null;
    claim = null;
    replace(
      element,
      h(
        'section',
        { class: 'idle' },
        message ? h('p', { class: `notice ${tone}`, role: 'status' }, message) : null,
        h('button', { class: 'primary big', id: 'next-case', onclick: () => void next() }, 'Next case ', h('kbd', {}, 'N')),
        h('p', { class: 'muted' }, 'Claims the most urgent case of your pools. Press ? for all shortcuts.'),
      ),
    );
  }

  async function next() {
    if (busy || claim) return;
    busy = true;
    try {
      const { data, response } = await api.POST('/api/v1/worklist/claim', {});
      if (response.status === 204) return idle('Nothing waits in your pools. Try again in a moment.');
      if (!response.ok) throw new ApiFailure(response.status, 'claim_failed', 'the claim was refused');
      open(data as unknown as Claim);
    } catch (error) {
      idle(error instanceof Error ? error.message : String(error), 'warn');
    } finally {
      busy = false;
    }
  }

  function open(claimed: Claim) {
    claim = claimed;
    lockLost = false;
    const scan = claimed.scan;
    const sla = h('span', { class: 'sla', title: 'Time left to the SLA deadline' });
    workspace = new CaseWorkspace({
      imageBase: scanImageBase(scan.id),
      manifest: scan.manifest,
      metadata: scan.metadata,
      facts: { stationName: scan.stationName, riskScore: scan.riskScore, receivedAt: scan.receivedAt, stage: scan.stage },
      bar: [
        h('span', { class: `badge stage-${scan.stage}` }, scan.stage === 'first' ? 'First opinion' : 'Second opinion'),
        h('span', { class: `badge risk ${scan.riskScore >= 70 ? 'high' : scan.riskScore >= 40 ? 'mid' : 'low'}` }, `Risk ${formatNumber(scan.riskScore)}`),
        h('span', {}, scan.stationName),
        h('span', { class: 'muted' }, `pool ${scan.pool}`),
        h('span', { class: 'spacer' }),
        sla,
        h('button', { class: 'ghost', onclick: () => void giveBack() }, 'Give back'),
      ],
      data: { scan: scan.id, claim: claimed.claimId },
      commentPlaceholder: 'Comment for the station (optional)',
      refusal: 'The verdict was refused',
      onDecide: (decision, answer) => decide(claimed, decision, answer),
    });
    replace(element, workspace.element);

    // SLA countdown
    const tick = () => {
      if (!scan.slaDeadline) {
        sla.textContent = 'no SLA';
        return;
      }
      const left = (new Date(scan.slaDeadline).getTime() - Date.now()) / 1000;
      sla.textContent = left >= 0 ? `SLA ${formatDuration(left)}` : `SLA overdue ${formatDuration(-left)}`;
      sla.className = `sla ${left < 0 ? 'over' : left < 60 ? 'soon' : ''}`;
    };
    tick();
    ticker = window.setInterval(tick, 1000);

    // keep the lock: a heartbeat every third of the lock time
    const lockMs = Math.max(3000, new Date(claimed.lockExpiresAt).getTime() - Date.now());
    heartbeat = window.setInterval(() => void beat(), Math.max(1000, Math.floor(lockMs / 3)));
  }

  async function beat() {
    if (!claim || lockLost) return;
    try {
      await call(api.POST('/api/v1/worklist/claims/{claimId}/heartbeat', { params: { path: { claimId: claim.claimId } } }));
    } catch (error) {
      if (error instanceof ApiFailure && (error.code === 'lock_lost' || error.status === 409 || error.status === 404)) showLockLost();
    }
  }

  function showLockLost() {
    lockLost = true;
    stopTimers();
    workspace?.freeze();
    workspace?.showBanner(
      'The lock on this case was lost: it went back to the pool and may now be with another analyst. Your marks were not sent. ',
      h('button', { class: 'primary', onclick: () => idle() }, 'Back to the pool'),
    );
  }

  async function decide(current: Claim, decision: Decision, { regions, comment }: CaseAnswer) {
    if (lockLost) return;
    let final: boolean;
    try {
      ({ final } = await call(api.POST('/api/v1/scans/{id}/verdict', { params: { path: { id: current.scan.id } }, body: { claimId: current.claimId, decision, regions, comment } })));
    } catch (error) {
      if (error instanceof ApiFailure && error.code === 'lock_lost') return showLockLost();
      throw error;
    }
    claim = null;
    idle(`Decided ${decision}${final ? '' : ' (goes to a second analyst)'} with ${formatNumber(regions.length)} region(s). Press N for the next case.`);
  }

  async function giveBack() {
    if (!claim) return;
    const current = claim;
    claim = null;
    try {
      await call(api.DELETE('/api/v1/worklist/claims/{claimId}', { params: { path: { claimId: current.claimId } } }));
    } catch {
      // lapsed already: it is back in the pool either way
    }
    idle('The case went back to the pool.');
  }

  function stopTimers() {
    window.clearInterval(heartbeat);
    window.clearInterval(ticker);
  }

  const shortcuts: Shortcut[] = [{ key: 'n', label: 'Next case', run: () => void next() }, ...caseShortcuts(() => (claim && !lockLost ? workspace : null))];

  idle();
  return {
    element,
    shortcuts,
    destroy() {
      releaseOnLeave();
      stopTimers();
      workspace?.destroy();
      window.removeEventListener('pagehide', releaseOnLeave);
    },
  };
}
