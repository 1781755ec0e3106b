/** Chat with a persona. */
export function ChatScreen({ personaId, conversation }: { personaId: number; conversation?: number }) {
  return <div className="screen" data-persona={personaId} data-conversation={conversation} />;
}
