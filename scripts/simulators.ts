/**
 * Runs the three upstream simulators until SIGINT/SIGTERM:
 *   node dist/scripts/simulators.js --scenario scenarios/demo.yaml [--host 127.0.0.1] [--rc-port N --deck-port N --gangway-port N]
 * Prints one "<service> <base URL>" line per server. Bad flags or scenario: one line on stderr, exit 2.
 */
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { loadScenario, SimulatorInputError, type Simulators, startSimulators } from '../src/simulators';

const USAGE_ERROR = 2;

interface Flags {
  scenario: string;
  host: string;
  rcPort: number;
  deckPort: number;
  gangwayPort: number;
}

function parsePort(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) > 65535) throw new InvalidArgumentError('expected a port number 0-65535.');
  return Number(value);
}

function parseFlags(argv: string[]): Flags {
  const program = new Command()
    .name('simulators')
    .description('Local simulators of the release controller, Prow Deck and Gangway APIs')
    .requiredOption('--scenario <file>', 'scenario YAML file')
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--rc-port <port>', 'release controller port (0: any free port)', parsePort, 0)
    .option('--deck-port <port>', 'Deck port (0: any free port)', parsePort, 0)
    .option('--gangway-port <port>', 'Gangway port (0: any free port)', parsePort, 0)
    .allowExcessArguments(false)
    .exitOverride()
    // Commander's own error output is replaced by our single line below.
    .configureOutput({ outputError: () => undefined });
  program.parse(argv);
  return program.opts<Flags>();
}

function fail(message: string, code: number): never {
  process.stderr.write(`simulators: ${message.replace(/\s+/g, ' ').trim()}\n`);
  process.exit(code);
}

async function main(): Promise<void> {
  let flags: Flags;
  try {
    flags = parseFlags(process.argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.exitCode === 0) process.exit(0); // --help
      fail(err.message.replace(/^error: /, ''), USAGE_ERROR);
    }
    throw err;
  }

  let simulators: Simulators;
  try {
    const scenario = loadScenario(flags.scenario);
    simulators = await startSimulators(scenario, {
      host: flags.host,
      ports: { releaseController: flags.rcPort, deck: flags.deckPort, gangway: flags.gangwayPort },
    });
  } catch (err) {
    if (err instanceof SimulatorInputError) fail(err.message, USAGE_ERROR);
    fail(`cannot start: ${(err as Error).message}`, 1);
  }

  process.stdout.write(
    `release-controller ${simulators.releaseControllerUrl}\n` +
      `deck ${simulators.deckUrl}\n` +
      `gangway ${simulators.gangwayUrl}\n`,
  );

  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    simulators.close().then(
      () => process.exit(0),
      (err: unknown) => fail(`error while stopping: ${String(err)}`, 1),
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((err: unknown) => fail(String(err instanceof Error ? err.message : err), 1));
