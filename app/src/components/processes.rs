//! The top processes, by CPU and by resident memory.

use leptos::prelude::*;
use lookout::model::{ProcessInfo, Snapshot};

use crate::components::dashboard::DashboardState;
use crate::format::{bytes, percent};

#[component]
fn ProcTable(
    id: &'static str,
    caption: &'static str,
    live: DashboardState,
    pick: fn(&Snapshot) -> &Vec<ProcessInfo>,
) -> impl IntoView {
    let rows = move || {
        live.latest
            .with(|s| s.as_ref().map(|s| pick(s).clone()).unwrap_or_default())
    };
    view! {
        // The wrapper scrolls sideways on its own if a name is very long, never the page.
        <div class="table-wrap">
            <table class="procs" id=id>
                <caption>{caption}</caption>
                <thead>
                    <tr>
                        <th scope="col" class="num">"PID"</th>
                        <th scope="col">"Name"</th>
                        <th scope="col" class="num">"CPU"</th>
                        <th scope="col" class="num">"Memory"</th>
                    </tr>
                </thead>
                <tbody>
                    {move || {
                        rows()
                            .into_iter()
                            .map(|p| {
                                view! {
                                    <tr>
                                        <td class="num">{p.pid}</td>
                                        <td class="name" title=p.name.clone()>{p.name.clone()}</td>
                                        <td class="num">{percent(p.cpu_percent)}</td>
                                        <td class="num">{bytes(p.rss_bytes as f64)}</td>
                                    </tr>
                                }
                            })
                            .collect_view()
                    }}
                </tbody>
            </table>
        </div>
    }
}

#[component]
pub fn Processes(live: DashboardState) -> impl IntoView {
    view! {
        <section class="panel processes" aria-label="Top processes">
            <h2>"Top processes"</h2>
            <div class="proc-tables">
                <ProcTable id="top-cpu" caption="by CPU" live pick=|s| &s.processes.top_cpu/>
                <ProcTable id="top-memory" caption="by memory" live pick=|s| &s.processes.top_memory/>
            </div>
        </section>
    }
}
