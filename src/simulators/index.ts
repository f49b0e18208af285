import { DeckState, deckService } from './deck';
import { type Fault, faultBelongsTo, FaultStore, parseFault } from './faults';
import { gangwayService } from './gangway';
import { type HeldRequest, HoldRegistry } from './holds';
import type { ProwJob, ProwJobState } from './prowJob';
import { ReleaseControllerState, releaseControllerService } from './releaseController';
import { CREATED_COUNTER, RequestLog, type RequestLogEntry, type ServiceName } from './requestLog';
import type { Phase, Scenario } from './scenario';
import { SimServer, type SimService } from './server';

export type { Fault, FaultEndpoint, FaultKind } from './faults';
export type { ProwJob, ProwJobState, ProwJobType } from './prowJob';
export type { RequestLogEntry, ServiceName, Endpoint } from './requestLog';
export type { Phase, Scenario, ScenarioProwJob, ScenarioTag } from './scenario';
export type { JobExecution } from './gangway';
export type { HeldRequest } from './holds';
export { loadScenario, parseScenario } from './scenario';
export { parseFault } from './faults';
export { SimulatorInputError } from './validation';

export interface Simulators {
  releaseControllerUrl: string;
  deckUrl: string;
  gangwayUrl: string;
  requests(service?: RequestLogEntry['service']): RequestLogEntry[];
  counters(): Record<string, number>;
  addFault(fault: Fault): void;
  clearFaults(): void;
  addTag(stream: string, tag: { name: string; phase: Phase; pullSpec?: string }): void;
  setProwJobState(id: string, state: ProwJobState): void;
  prowJobs(): ProwJob[];
  /** Requests stopped by `hold` faults, oldest first. */
  held(): HeldRequest[];
  release(id: number): boolean;
  releaseAll(): number;
  /** How long a job Gangway creates from now on stays out of Deck's answers. */
  setDeckLag(ms: number): void;
  reset(): void;
  close(): Promise<void>;
}

export interface StartOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0 each: an ephemeral port. */
  ports?: { releaseController?: number; deck?: number; gangway?: number };
}

const SERVICES: ServiceName[] = ['release-controller', 'deck', 'gangway'];

/** Starts the three simulated upstreams on their own ports, sharing one request log and one set of ProwJobs. */
export async function startSimulators(scenario: Scenario, opts: StartOptions = {}): Promise<Simulators> {
  const host = opts.host ?? '127.0.0.1';
  const log = new RequestLog();
  const releases = new ReleaseControllerState(scenario);
  const deck = new DeckState(scenario);
  const faults = Object.fromEntries(SERVICES.map((s) => [s, new FaultStore(s)])) as Record<ServiceName, FaultStore>;

  const addFault = (input: Fault) => {
    const fault = parseFault(input);
    for (const service of SERVICES) if (faultBelongsTo(fault, service)) faults[service].add(fault);
  };
  const clearFaults = () => SERVICES.forEach((s) => faults[s].clear());
  const holds = new HoldRegistry();
  const reset = () => {
    holds.releaseAll();
    log.clear();
    releases.reset(scenario);
    deck.reset(scenario);
    clearFaults();
    scenario.faults.forEach(addFault);
  };
  reset();

  const serverFor = (service: SimService) => new SimServer(service, { log, faults: faults[service.service], holds, resetAll: reset });
  const servers = {
    releaseController: serverFor(releaseControllerService(releases)),
    deck: serverFor(deckService(deck)),
    gangway: serverFor(gangwayService({ deck, scenario, onCreated: () => log.increment(CREATED_COUNTER) })),
  };
  const all = Object.values(servers);
  const close = async () => {
    holds.releaseAll();
    await Promise.all(all.map((s) => s.close()));
  };
  try {
    await servers.releaseController.listen(host, opts.ports?.releaseController ?? 0);
    await servers.deck.listen(host, opts.ports?.deck ?? 0);
    await servers.gangway.listen(host, opts.ports?.gangway ?? 0);
  } catch (err) {
    await close();
    throw err;
  }

  return {
    releaseControllerUrl: servers.releaseController.url,
    deckUrl: servers.deck.url,
    gangwayUrl: servers.gangway.url,
    requests: (service) => log.requests(service),
    counters: () => log.counters(),
    addFault,
    clearFaults,
    addTag: (stream, tag) => releases.addTag(stream, tag),
    setProwJobState: (id, state) => deck.setState(id, state),
    prowJobs: () => deck.list(),
    held: () => holds.list(),
    release: (id) => holds.release(id),
    releaseAll: () => holds.releaseAll(),
    setDeckLag: (ms) => deck.setLag(ms),
    reset,
    close,
  };
}
