/** A persona's training: presets, the live loss chart, runs, evaluation, exports. */
export function TrainScreen({ personaId }: { personaId: number }) {
  return <div className="screen" data-persona={personaId} />;
}
