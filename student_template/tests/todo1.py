from otter.test_files import test_case

OK_FORMAT = False

name = "todo1"
points = 1

@test_case(points=None, hidden=False)
def test_todo1(model_eta_large, history_eta_large):
    from hw5kit import public
    public.check_variable('model_eta_large', model_eta_large, history_eta_large)

