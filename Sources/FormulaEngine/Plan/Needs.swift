/// One condition of a bar set: `node` (a boolean node) holds at the bar `shift` bars later.
struct NeedTerm: Hashable, Sendable {
    var node: Int
    var shift: Int
}

/// Where each node's values can matter, and an order of evaluation that lets the expensive parts of a
/// conjunction run only there (the "chosen bars" of the indicator kernels that can compute their
/// outputs at some bars only).
///
/// A conjunction tree (`a and b and c`, nested `and`s whose inner nodes have no other use) is flattened
/// into its clauses, which are evaluated one after the other: clause `k` is needed only where the
/// clauses before it all hold (elsewhere the conjunction is false whatever it is). A node's need is a
/// set of ``NeedTerm``s whose conjunction holds at every bar where its value can matter (more bars is
/// always safe); the empty set is every bar. Needs pass through elementwise operations unchanged, are
/// shifted by `x[n]`, intersected over a node's consumers, and become every bar at the inputs of
/// indicators, `crossover`, `barssince` and `rising` (which read other bars). Signals are needed at
/// every bar; columns where some signal holds.
///
/// Invariant (so the values at needed bars are exact): at a bar where a node's value matters, every
/// term of its need evaluates true — each term's node is itself needed there and exact, because the
/// clauses before it held.
struct Needs {
    /// Per node: nil where nothing reads it, else its need.
    private(set) var need: [Set<NeedTerm>?]
    /// Every reachable node, children before parents, each conjunction's clauses one after the other.
    private(set) var schedule: [Int] = []
    /// Per indicator node, which of its outputs something reads.
    private(set) var usedOutputs: [Int: Set<Int>] = [:]

    /// - Parameter saving: how much work a node saves per bar left out when it is evaluated only at
    ///   chosen bars (0 for nodes that cannot be); clauses with less go first.
    init(nodes: [Node], reachable: [Bool], signals: [Int], columns: [Int], saving: (Node) -> Int) {
        let count = nodes.count
        need = [Set<NeedTerm>?](repeating: nil, count: count)
        // Consumers: how many references each node has (roots included), and its last consumer.
        var uses = [Int](repeating: 0, count: count)
        var consumer = [Int](repeating: -1, count: count)
        for id in nodes.indices where reachable[id] {
            for child in Self.children(of: nodes[id]) {
                uses[child] += 1
                consumer[child] = id
            }
        }
        for id in signals + columns { uses[id] += 1 }
        func isAnd(_ id: Int) -> Bool { if case .logic(and: true, _, _) = nodes[id] { true } else { false } }
        // An `and` whose only use is another `and` is inside that one's tree.
        let inner = nodes.indices.map { id in
            reachable[id] && isAnd(id) && uses[id] == 1 && consumer[id] >= 0 && isAnd(consumer[id])
        }

        // Each tree's clauses (the ones that save least first, else in graph order) and inner nodes.
        var clauses: [Int: [Int]] = [:]
        var inners: [Int: [Int]] = [:]
        for root in nodes.indices where reachable[root] && isAnd(root) && !inner[root] {
            var atoms: [Int] = []
            var within: [Int] = []
            var stack = [root]
            while let id = stack.popLast() {
                for child in Self.children(of: nodes[id]).sorted() {
                    if inner[child] {
                        within.append(child)
                        stack.append(child)
                    } else if !atoms.contains(child) {
                        atoms.append(child)
                    }
                }
            }
            atoms.sort()
            let savings = atoms.map { Self.subtreeSaving($0, nodes, saving) }
            clauses[root] = atoms.indices.sorted { (savings[$0], atoms[$0]) < (savings[$1], atoms[$1]) }.map {
                atoms[$0]
            }
            inners[root] = within.sorted()
        }

        func contribute(_ id: Int, _ terms: Set<NeedTerm>) {
            need[id] = need[id].map { $0.intersection(terms) } ?? terms
        }
        for id in signals { contribute(id, []) }
        var columnNeed: Set<NeedTerm>? = nil
        for id in signals {
            let terms = Set((clauses[id] ?? [id]).map { NeedTerm(node: $0, shift: 0) })
            columnNeed = columnNeed.map { $0.intersection(terms) } ?? terms
        }
        for id in columns { contribute(id, columnNeed ?? []) }

        for id in nodes.indices.reversed() where reachable[id] {
            guard let terms = need[id] else { continue }
            let node = nodes[id]
            if let atoms = clauses[id] {
                var before = terms
                for atom in atoms {
                    contribute(atom, before)
                    before.insert(NeedTerm(node: atom, shift: 0))
                }
                for x in inners[id] ?? [] { contribute(x, terms) }
                continue
            }
            if inner[id] { continue }
            switch node {
            case .history(let a, let offset):
                contribute(a, Set(terms.map { NeedTerm(node: $0.node, shift: $0.shift + offset) }))
            case .cross, .barssince, .rising, .indicator:
                for child in Self.children(of: node) { contribute(child, []) }
            case .output(let parent, let index):
                usedOutputs[parent, default: []].insert(index)
                contribute(parent, terms)
            default:
                for child in Self.children(of: node) { contribute(child, terms) }
            }
        }

        // The schedule: depth first from the roots, a tree's clauses in their order.
        var visited = [Bool](repeating: false, count: count)
        var order: [Int] = []
        func visit(_ id: Int) {
            guard !visited[id] else { return }
            visited[id] = true
            if let atoms = clauses[id] {
                for atom in atoms { visit(atom) }
                for x in inners[id] ?? [] where !visited[x] {
                    visited[x] = true
                    order.append(x)
                }
            } else {
                for child in Self.children(of: nodes[id]) { visit(child) }
            }
            order.append(id)
        }
        for id in signals + columns { visit(id) }
        schedule = order
    }

    /// The work saved per bar by the nodes under `id` that could run at chosen bars only (not below the
    /// operations that read other bars of their inputs: those are needed at every bar).
    private static func subtreeSaving(_ id: Int, _ nodes: [Node], _ saving: (Node) -> Int) -> Int {
        var seen: Set<Int> = []
        var stack = [id]
        var total = 0
        while let x = stack.popLast() {
            guard seen.insert(x).inserted else { continue }
            switch nodes[x] {
            case .cross, .barssince, .rising: continue
            case .indicator: total += saving(nodes[x])
            default: stack += children(of: nodes[x])
            }
        }
        return total
    }

    static func children(of node: Node) -> [Int] {
        func ids(_ refs: Ref...) -> [Int] { refs.compactMap { if case .node(let id) = $0 { id } else { nil } } }
        switch node {
        case .price, .fillNumber, .fillBoolean: return []
        case .indicator(_, let inputs): return inputs
        case .arithmetic(_, let a, let b), .compare(_, let a, let b): return ids(a, b)
        case .unary(_, let a), .not(let a), .history(let a, _), .barssince(let a), .rising(_, let a, _),
            .output(let a, _):
            return [a]
        case .booleanEqual(_, let a, let b), .logic(_, let a, let b), .cross(_, let a, let b): return [a, b]
        case .select(let c, let a, let b): return [c, a, b]
        }
    }
}
